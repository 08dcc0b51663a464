package transport_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Forged messages, laid out as raftport's wire formats (the reference's):
// little-endian integers, 8-byte node IDs.

const forgedID = "mallory1"

var le = binary.LittleEndian

func forgedVoteRequest(term, lastTerm, lastIndex uint64, candidate string) []byte {
	b := le.AppendUint64(nil, term)
	b = le.AppendUint64(b, lastTerm)
	b = le.AppendUint64(b, lastIndex)
	return append(b, candidate...)
}

func forgedVoteResponse(term uint64, peer string, granted bool) []byte {
	b := append(le.AppendUint64(nil, term), peer...)
	if granted {
		return append(b, 1)
	}
	return append(b, 0)
}

// forgedAppendEntry carries normal entries and lterm = term.
func forgedAppendEntry(leader string, term, commit, pterm, pindex uint64, entries ...string) []byte {
	b := []byte(leader)
	for _, v := range []uint64{term, commit, pterm, pindex} {
		b = le.AppendUint64(b, v)
	}
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = le.AppendUint32(b, uint32(1+len(e)))
		b = append(b, 0) // EntryNormal
		b = append(b, e...)
	}
	return binary.AppendUvarint(b, term)
}

func forgedAppendEntryResponse(term, index uint64, peer string, success bool) []byte {
	b := le.AppendUint64(nil, term)
	b = le.AppendUint64(b, index)
	b = append(b, peer...)
	if success {
		return append(b, 1)
	}
	return append(b, 0)
}

// replies records the distinct reply subjects seen on a subject.
type replies struct {
	mu   sync.Mutex
	seen []string
}

func (r *replies) handle(_, reply string, _ []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reply != "" && !slices.Contains(r.seen, reply) {
		r.seen = append(r.seen, reply)
	}
}

func (r *replies) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// dialer connects members, and outsiders who can publish and subscribe on
// every subject, to one transport.
type dialer func(t *testing.T, id string) transport.Conn

func inprocNet(t *testing.T) dialer {
	n := transport.NewNetwork(transport.NetworkOptions{Seed: 7, NoEcho: true})
	t.Cleanup(n.Close)
	return func(t *testing.T, id string) transport.Conn { return n.Connect(id) }
}

func natsNet(t *testing.T) dialer {
	s := startNATS(t, &server.Options{})
	return func(t *testing.T, id string) transport.Conn {
		c, err := transport.DialNATS(s.ClientURL(), transport.WithNoEcho(), transport.WithName(id))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// startNATS runs an embedded server with opts on a random loopback port.
func startNATS(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("embedded NATS server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

var (
	groupKey = bytes.Repeat([]byte{0x5a}, transport.MinAuthKeyLen)
	wrongKey = bytes.Repeat([]byte{0xa5}, transport.MinAuthKeyLen)
)

func authenticate(t *testing.T, c transport.Conn, key []byte) *transport.AuthConn {
	t.Helper()
	a, err := transport.NewAuthConn(c, transport.AuthConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestForgedMessagesChangeNothing runs a group whose members share a key,
// and lets two outsiders who can publish and subscribe on every subject
// (one without a key, one with a wrong key) forge every kind of message a
// member acts on: a vote request of a far higher term, votes, an append
// entry from a leader of that term, a response from that term to the
// leader, a proposal and a peer removal. Terms, logs, commits, applied
// entries and leadership stay as they were, every forgery is counted, and
// the group keeps committing. The same forgeries signed with the group key
// then do take effect, which shows the ones above were refused for their
// tags and not for their shape.
func TestForgedMessagesChangeNothing(t *testing.T) {
	for kind, newNet := range map[string]func(*testing.T) dialer{"inproc": inprocNet, "nats": natsNet} {
		t.Run(kind, func(t *testing.T) {
			dial := newNet(t)
			const name = "forged"
			eve := dial(t, "eve")
			t.Cleanup(func() { eve.Close() })
			voteInboxes, leaderInboxes := &replies{}, &replies{}
			for subject, r := range map[string]*replies{transport.VoteSubject(name): voteInboxes, transport.AppendSubject(name): leaderInboxes} {
				if _, err := eve.Subscribe(subject, r.handle); err != nil {
					t.Fatal(err)
				}
			}
			var members []*transport.AuthConn
			var conns []transport.Conn
			for i := range 3 {
				a := authenticate(t, dial(t, fmt.Sprintf("member%d", i)), groupKey)
				members = append(members, a)
				conns = append(conns, a)
			}
			g := startGroup(t, name, conns)
			leader := g.leader()
			g.commit("one")
			g.commit("two")
			before := g.view()
			inboxes := voteInboxes.all()
			ae := leaderInboxes.all()
			leaderInbox := ae[len(ae)-1]
			var follower string
			for _, m := range g.members {
				if m != leader {
					follower = m.node.ID()
				}
			}
			top := slices.Max(before.terms) + 100
			index := slices.Max(before.logs)
			forge := func(c transport.Conn) {
				publish := func(subject, reply string, data []byte) {
					t.Helper()
					if err := c.Publish(subject, reply, data); err != nil {
						t.Fatal(err)
					}
				}
				inbox := c.NewInbox()
				publish(transport.VoteSubject(name), inbox, forgedVoteRequest(top, top, index+1000, forgedID))
				publish(transport.AppendSubject(name), inbox, forgedAppendEntry(forgedID, top, index+1, top, index, "forged entry"))
				publish(leaderInbox, "", forgedAppendEntryResponse(top, 0, forgedID, false))
				publish(transport.ProposeSubject(name), "", []byte("forged proposal"))
				publish(transport.RemovePeerSubject(name), "", []byte(follower))
				for _, vi := range inboxes {
					publish(vi, "", forgedVoteResponse(top, forgedID, true))
				}
			}
			mallory := authenticate(t, dial(t, "mallory"), wrongKey)
			t.Cleanup(func() { mallory.Close() })
			forge(eve)
			forge(mallory)

			// Every member hears votes and append entries; the leader alone
			// its inbox, proposals and removals; each vote inbox is one
			// member's.
			perForger := uint64(3 + 3 + 1 + 1 + 1 + len(inboxes))
			waitFor(t, "every forgery refused", func() error {
				var sum transport.AuthStats
				for _, m := range members {
					s := m.Stats()
					sum.Unsigned += s.Unsigned
					sum.BadTag += s.BadTag
					sum.Replayed += s.Replayed
					sum.Stale += s.Stale
				}
				want := transport.AuthStats{Unsigned: perForger, BadTag: perForger}
				if sum.Unsigned < want.Unsigned || sum.BadTag < want.BadTag {
					return fmt.Errorf("refused %+v so far, want %+v", sum, want)
				}
				if sum.Dropped() != want.Dropped() {
					t.Fatalf("members refused %+v, want exactly %+v: genuine traffic must pass", sum, want)
				}
				return nil
			})
			if after := g.view(); !after.equal(before) {
				t.Fatalf("the forgeries changed the group:\nbefore %v\nafter  %v", before, after)
			}
			g.commit("three")
			for _, m := range g.members {
				for _, e := range m.appliedData() {
					if e != "one" && e != "two" && e != "three" {
						t.Fatalf("%s applied %q", m.host.Name(), e)
					}
				}
			}

			// With the key, the same forgeries work: the proposal is applied
			// everywhere and the vote request drives every term up.
			insider := authenticate(t, dial(t, "insider"), groupKey)
			t.Cleanup(func() { insider.Close() })
			if err := insider.Publish(transport.ProposeSubject(name), "", []byte("forged proposal")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the key holder's proposal applied", func() error {
				for _, m := range g.members {
					if !slices.Contains(m.appliedData(), "forged proposal") {
						return fmt.Errorf("%s has not applied it", m.host.Name())
					}
				}
				return nil
			})
			if err := insider.Publish(transport.VoteSubject(name), insider.NewInbox(), forgedVoteRequest(top, top, index+1000, forgedID)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the key holder's vote request adopted", func() error {
				for _, m := range g.members {
					if term := m.node.Term(); term < top {
						return fmt.Errorf("%s is at term %d, below %d", m.host.Name(), term, top)
					}
				}
				return nil
			})
		})
	}
}
