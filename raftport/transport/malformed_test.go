package transport_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// warnings counts the records at warning level or above a host logs.
type warnings struct{ n atomic.Int64 }

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(context.Context, slog.Record) error    { w.n.Add(1); return nil }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }

// malformed returns, for each subject a member decodes, messages that no
// decoder may accept: wrong sizes for the fixed-size messages, and append
// entries cut short or announcing entries they do not hold.
func malformed(group, leaderInbox string, voteInboxes []string) map[string][][]byte {
	sized := func(lengths ...int) [][]byte {
		var out [][]byte
		for _, n := range lengths {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(0xf0 + i)
			}
			out = append(out, b)
		}
		return out
	}
	const headerLen = 8 + 4*8 + 2 // leader, terms and indexes, entry count
	header := forgedAppendEntry(forgedID, 1<<40, 1<<40, 1<<40, 1<<40)[:headerLen]
	withCount := func(count uint16, rest ...byte) []byte {
		b := append([]byte(nil), header...)
		le.PutUint16(b[len(b)-2:], count)
		return append(b, rest...)
	}
	msgs := map[string][][]byte{
		transport.VoteSubject(group): sized(0, 1, 31, 33, 64),
		transport.AppendSubject(group): {
			{}, header[:len(header)-1],
			withCount(3),                                    // three entries announced, none there
			withCount(1, 0, 0, 0, 0, 0),                     // an entry of size 0
			withCount(1, 0xff, 0xff, 0xff, 0x7f, 0, 'x'),    // an entry running past the end
			withCount(2, 2, 0, 0, 0, 0, 'a', 9, 0, 0, 0, 0), // the second one cut short
		},
		leaderInbox:                        sized(0, 24, 26),
		transport.RemovePeerSubject(group): sized(0, 7, 9),
	}
	for _, vi := range voteInboxes {
		msgs[vi] = sized(0, 16, 18)
	}
	return msgs
}

// TestMalformedMessagesAreDropped sends every member messages that cannot
// be decoded, on every subject it decodes: none may crash a node or change
// a term, a log, a commit or the leadership, and the group keeps working.
// The node logs each drop; how often is reported, not asserted.
func TestMalformedMessagesAreDropped(t *testing.T) {
	const name = "malformed"
	net := transport.NewNetwork(transport.NetworkOptions{Seed: 11, NoEcho: true})
	t.Cleanup(net.Close)
	eve := net.Connect("eve")
	voteInboxes, leaderInboxes := &replies{}, &replies{}
	for subject, r := range map[string]*replies{transport.VoteSubject(name): voteInboxes, transport.AppendSubject(name): leaderInboxes} {
		if _, err := eve.Subscribe(subject, r.handle); err != nil {
			t.Fatal(err)
		}
	}
	var conns []transport.Conn
	for i := range 3 {
		conns = append(conns, net.Connect(fmt.Sprintf("member%d", i)))
	}
	logged := &warnings{}
	g := startGroup(t, name, conns, func(c *raftport.ServerConfig) { c.Logger = slog.New(logged) })
	g.commit("one")
	before := g.view()
	ae := leaderInboxes.all()
	sent := 0
	warnedBefore := logged.n.Load()
	for subject, msgs := range malformed(name, ae[len(ae)-1], voteInboxes.all()) {
		for _, m := range msgs {
			if err := eve.Publish(subject, "", m); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	// Decoding happens in the subscription handlers, so once the network
	// is idle every malformed message has been decoded (and dropped).
	if err := net.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if after := g.view(); !after.equal(before) {
		t.Fatalf("malformed messages changed the group:\nbefore %v\nafter  %v", before, after)
	}
	g.commit("two")
	t.Logf("%d malformed messages sent, %d warnings logged", sent, logged.n.Load()-warnedBefore)
}
