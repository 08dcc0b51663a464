package transport

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

var (
	groupKey = bytes.Repeat([]byte("k"), MinAuthKeyLen)
	otherKey = bytes.Repeat([]byte("x"), MinAuthKeyLen)
)

func mustAuth(t testing.TB, inner Conn, cfg AuthConfig) *AuthConn {
	t.Helper()
	c, err := NewAuthConn(inner, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authConns wraps every connection with the group key.
func authConns(t *testing.T, conns []Conn) []Conn {
	out := make([]Conn, len(conns))
	for i, c := range conns {
		out[i] = mustAuth(t, c, AuthConfig{Key: groupKey})
	}
	return out
}

func TestAuthConformanceInproc(t *testing.T) {
	runConformance(t, func(t *testing.T, count int) []Conn {
		return authConns(t, newInprocConns(t, count))
	})
}

func TestAuthConformanceNATS(t *testing.T) {
	runConformance(t, func(t *testing.T, count int) []Conn {
		s := startServer(t, -1)
		conns := make([]Conn, count)
		for i := range conns {
			conns[i] = dialTest(t, s.ClientURL())
		}
		return authConns(t, conns)
	})
}

func newInprocConns(t *testing.T, count int) []Conn {
	n := NewNetwork(NetworkOptions{Seed: 1})
	t.Cleanup(n.Close)
	conns := make([]Conn, count)
	for i := range conns {
		conns[i] = n.Connect(fmt.Sprintf("n%d", i))
	}
	return conns
}

// tap records raw messages, trailer included, as an eavesdropper sees them.
func tap(t *testing.T, c Conn, subject string) *recorder {
	r := newRecorder()
	mustSubscribe(t, c, subject, r.handle)
	return r
}

// authFixture is a receiver with the group key, a signer with it, and raw
// connections for an attacker that can publish and subscribe.
type authFixture struct {
	recv, send *AuthConn
	raw        Conn
	got        *recorder
}

func newAuthFixture(t *testing.T, subject string) *authFixture {
	conns := newInprocConns(t, 3)
	f := &authFixture{
		recv: mustAuth(t, conns[0], AuthConfig{Key: groupKey}),
		send: mustAuth(t, conns[1], AuthConfig{Key: groupKey}),
		raw:  conns[2],
		got:  newRecorder(),
	}
	mustSubscribe(t, f.recv, subject, f.got.handle)
	return f
}

// waitStats waits until the receiver has decided on want.Accepted +
// want.Dropped() messages, then checks every counter.
func (f *authFixture) waitStats(t *testing.T, want AuthStats) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := f.recv.Stats()
		if got.Accepted+got.Dropped() >= want.Accepted+want.Dropped() {
			if got != want {
				t.Fatalf("receiver stats %+v, want %+v", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver stats %+v, still waiting for %+v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAuthDropsForgeries(t *testing.T) {
	subject := AppendSubject("A")
	wrongKey := func(t *testing.T, f *authFixture) {
		forger := mustAuth(t, f.raw, AuthConfig{Key: otherKey})
		mustPublish(t, forger, subject, "", []byte("forged"))
	}
	// capture has the group's signer send one message and returns it as the
	// wire carried it, for the attacker to replay or alter.
	capture := func(t *testing.T, f *authFixture, subj, reply string) []byte {
		wire := tap(t, f.raw, subj)
		mustPublish(t, f.send, subj, reply, []byte("genuine"))
		return []byte(wire.waitCount(t, 1)[0].Data)
	}
	cases := []struct {
		name   string
		forge  func(t *testing.T, f *authFixture)
		reason AuthStats
	}{
		{"unsigned", func(t *testing.T, f *authFixture) {
			mustPublish(t, f.raw, subject, "", []byte("no trailer at all, long enough to hold one if it had it......."))
		}, AuthStats{Unsigned: 1}},
		{"short", func(t *testing.T, f *authFixture) { mustPublish(t, f.raw, subject, "", []byte("x")) }, AuthStats{Unsigned: 1}},
		{"wrong key", wrongKey, AuthStats{BadTag: 1}},
		{"altered data", func(t *testing.T, f *authFixture) {
			msg := capture(t, f, subject, "")
			f.waitStats(t, AuthStats{Accepted: 1})
			msg[0] ^= 1
			mustPublish(t, f.raw, subject, "", msg)
		}, AuthStats{Accepted: 1, BadTag: 1}},
		{"other group's subject", func(t *testing.T, f *authFixture) {
			mustPublish(t, f.raw, subject, "", capture(t, f, AppendSubject("B"), ""))
		}, AuthStats{BadTag: 1}},
		{"other reply subject", func(t *testing.T, f *authFixture) {
			msg := capture(t, f, subject, "$NRG.R.leader01")
			f.waitStats(t, AuthStats{Accepted: 1})
			mustPublish(t, f.raw, subject, "$NRG.R.mallory1", msg)
		}, AuthStats{Accepted: 1, BadTag: 1}},
		{"altered send time", func(t *testing.T, f *authFixture) {
			msg := capture(t, f, subject, "")
			f.waitStats(t, AuthStats{Accepted: 1})
			msg[len(msg)-AuthTrailerLen+4] ^= 1
			mustPublish(t, f.raw, subject, "", msg)
		}, AuthStats{Accepted: 1, BadTag: 1}},
		{"replay", func(t *testing.T, f *authFixture) {
			msg := capture(t, f, subject, "")
			f.waitStats(t, AuthStats{Accepted: 1})
			mustPublish(t, f.raw, subject, "", msg)
		}, AuthStats{Accepted: 1, Replayed: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuthFixture(t, subject)
			tc.forge(t, f)
			f.waitStats(t, tc.reason)
			// A genuine message after the forgery is the fence: the
			// subscription handles messages in order.
			mustPublish(t, f.send, subject, "", []byte("after"))
			want := tc.reason
			want.Accepted++
			f.waitStats(t, want)
			got := f.got.data()
			if got[len(got)-1] != "after" || len(got) != int(want.Accepted) {
				t.Fatalf("handler saw %q; the forgery must not reach it", got)
			}
			for _, m := range got[:len(got)-1] {
				if m != "genuine" {
					t.Fatalf("handler saw %q; the forgery must not reach it", got)
				}
			}
		})
	}
}

func TestAuthKeyRotation(t *testing.T) {
	conns := newInprocConns(t, 3)
	rotated := mustAuth(t, conns[0], AuthConfig{Key: otherKey, AcceptKeys: [][]byte{groupKey}})
	old := mustAuth(t, conns[1], AuthConfig{Key: groupKey, AcceptKeys: [][]byte{otherKey}})
	notYet := mustAuth(t, conns[2], AuthConfig{Key: groupKey})
	subject := VoteSubject("g")
	toOld, toNotYet, toRotated := newRecorder(), newRecorder(), newRecorder()
	mustSubscribe(t, old, subject, toOld.handle)
	mustSubscribe(t, notYet, subject, toNotYet.handle)
	mustSubscribe(t, rotated, subject, toRotated.handle)
	mustPublish(t, rotated, subject, "", []byte("new key"))
	mustPublish(t, old, subject, "", []byte("old key"))
	toRotated.waitCount(t, 2)
	toOld.waitCount(t, 2)
	if got := toNotYet.waitCount(t, 1); len(got) != 1 || got[0].Data != "old key" {
		t.Fatalf("a member without the new key accepted %v", got)
	}
	deadline := time.Now().Add(waitTimeout)
	for notYet.Stats().BadTag != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("member without the new key: %+v, want one bad tag", notYet.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAuthStaleMessages(t *testing.T) {
	for _, offset := range []time.Duration{-2 * time.Second, 2 * time.Second} {
		t.Run(offset.String(), func(t *testing.T) {
			subject := AppendSubject("g")
			f := newAuthFixture(t, subject)
			f.recv.skew = time.Second
			now := time.Now()
			f.send.now = func() time.Time { return now.Add(offset) }
			mustPublish(t, f.send, subject, "", []byte("late"))
			f.waitStats(t, AuthStats{Stale: 1})
			f.send.now = time.Now
			mustPublish(t, f.send, subject, "", []byte("on time"))
			f.waitStats(t, AuthStats{Stale: 1, Accepted: 1})
			if got := f.got.data(); !equalStrings(got, []string{"on time"}) {
				t.Fatalf("handler saw %v", got)
			}
		})
	}
}

func TestReplayFilter(t *testing.T) {
	const skew = int64(time.Second)
	now := int64(1e18)
	f := newReplayFilter()
	steps := []struct {
		session, seq uint64
		sent         int64
		ok           bool
		reason       dropReason
	}{
		{1, 10, now, true, 0},
		{1, 10, now, false, dropReplayed},      // the same again
		{1, 9, now, false, dropReplayed},       // sent before first contact
		{1, 13, now, true, 0},                  // a gap: 11 and 12 may still come
		{1, 12, now, true, 0},                  // late, inside the window
		{1, 12, now, false, dropReplayed},      // but only once
		{1, 13 + 64, now, true, 0},             // far ahead
		{1, 13, now, false, dropReplayed},      // now out of the window
		{2, 1, now, true, 0},                   // another session is independent
		{2, 2, now - 2*skew, false, dropStale}, // too old
		{2, 3, now + 2*skew, false, dropStale}, // from the future
		{2, 4, now - skew, true, 0},            // at the edge
		{3, ^uint64(0), now, true, 0},          // the last number
		{3, ^uint64(0) - 64, now, false, dropReplayed},
	}
	for i, s := range steps {
		reason, ok := f.check(s.session, s.seq, s.sent, now, skew)
		if ok != s.ok || (!ok && reason != s.reason) {
			t.Fatalf("step %d %+v: got %v %v", i, s, reason, ok)
		}
	}
	// Sessions whose every message is stale are swept; a replay of one of
	// their messages is refused by the clock instead.
	later := now + 3*skew
	f.check(4, 1, later, later, skew)
	for i := range sweepEvery {
		f.check(4, uint64(i)+2, later, later, skew)
	}
	f.mu.Lock()
	remembered := len(f.sessions)
	f.mu.Unlock()
	if remembered != 1 {
		t.Fatalf("%d sessions remembered after the sweep, want only the live one", remembered)
	}
	if reason, ok := f.check(1, 10, now, later, skew); ok || reason != dropStale {
		t.Fatalf("replay of a forgotten session's message: %v %v, want stale", reason, ok)
	}
}

func TestNewAuthConnRefusesBadConfig(t *testing.T) {
	c := newInprocConns(t, 1)[0]
	short := groupKey[:MinAuthKeyLen-1]
	for _, cfg := range []AuthConfig{
		{},
		{Key: short},
		{Key: groupKey, AcceptKeys: [][]byte{short}},
		{Key: groupKey, MaxClockSkew: -time.Second},
		{Key: groupKey, MaxClockSkew: 25 * time.Hour},
	} {
		if _, err := NewAuthConn(c, cfg); err == nil {
			t.Errorf("NewAuthConn accepted %+v", cfg)
		}
	}
	if _, err := NewAuthConn(nil, AuthConfig{Key: groupKey}); err == nil {
		t.Error("NewAuthConn accepted a nil Conn")
	}
	a := mustAuth(t, c, AuthConfig{Key: groupKey})
	if a.Unwrap() != c {
		t.Error("Unwrap does not return the wrapped Conn")
	}
}

// lineCounter is a slog handler that counts records by message.
type lineCounter struct {
	mu    sync.Mutex
	lines map[string]int
}

func (l *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[r.Message]++
	return nil
}
func (l *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lineCounter) WithGroup(string) slog.Handler      { return l }

func TestAuthLogsOncePerReason(t *testing.T) {
	conns := newInprocConns(t, 2)
	lines := &lineCounter{lines: map[string]int{}}
	recv := mustAuth(t, conns[0], AuthConfig{Key: groupKey, Logger: slog.New(lines)})
	forger := mustAuth(t, conns[1], AuthConfig{Key: otherKey})
	subject := VoteSubject("g")
	mustSubscribe(t, recv, subject, func(string, string, []byte) { t.Error("a forgery was delivered") })
	for range 10 {
		mustPublish(t, forger, subject, "", []byte("forged"))
		mustPublish(t, conns[1], subject, "", []byte("unsigned"))
	}
	deadline := time.Now().Add(waitTimeout)
	for recv.Stats().Dropped() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want 20 drops", recv.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	lines.mu.Lock()
	defer lines.mu.Unlock()
	if len(lines.lines) != 2 {
		t.Fatalf("log lines %v, want one per reason", lines.lines)
	}
	for msg, n := range lines.lines {
		if n != 1 {
			t.Fatalf("%q logged %d times, want once", msg, n)
		}
	}
}
