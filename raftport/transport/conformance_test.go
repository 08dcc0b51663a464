package transport

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// connFactory returns n connected endpoints on one fresh transport; the
// factory registers their cleanup with t.
type connFactory func(t *testing.T, n int) []Conn

// runConformance checks the Conn contract that the node relies on, over
// any transport.
func runConformance(t *testing.T, newConns connFactory) {
	t.Run("RequestReply", func(t *testing.T) { testRequestReply(t, newConns) })
	t.Run("Broadcast", func(t *testing.T) { testBroadcast(t, newConns) })
	t.Run("Wildcards", func(t *testing.T) { testWildcards(t, newConns) })
	t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, newConns) })
	t.Run("SlowHandler", func(t *testing.T) { testSlowHandler(t, newConns) })
	t.Run("DataIsCopied", func(t *testing.T) { testDataIsCopied(t, newConns) })
	t.Run("Inboxes", func(t *testing.T) { testInboxes(t, newConns) })
	t.Run("BadSubjects", func(t *testing.T) { testBadSubjects(t, newConns) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, newConns) })
}

func testRequestReply(t *testing.T, newConns connFactory) {
	conns := newConns(t, 2)
	server, client := conns[0], conns[1]
	mustSubscribe(t, server, VoteSubject("g1"), func(subject, reply string, data []byte) {
		if reply == "" {
			t.Errorf("request on %s came without a reply subject", subject)
			return
		}
		if err := server.Publish(reply, "", append([]byte("re:"), data...)); err != nil {
			t.Errorf("reply: %v", err)
		}
	})
	inbox := client.NewInbox()
	answers := newRecorder()
	mustSubscribe(t, client, inbox, answers.handle)
	for _, q := range []string{"q0", "q1", "q2"} {
		mustPublish(t, client, VoteSubject("g1"), inbox, []byte(q))
	}
	got := answers.waitCount(t, 3)
	for i, want := range []string{"re:q0", "re:q1", "re:q2"} {
		if got[i].Data != want || got[i].Subject != inbox || got[i].Reply != "" {
			t.Fatalf("answer %d = %+v, want data %q on %s", i, got[i], want, inbox)
		}
	}
}

func testBroadcast(t *testing.T, newConns connFactory) {
	conns := newConns(t, 4)
	subject := AppendSubject("g2")
	var recs []*recorder
	for _, c := range conns[:3] {
		r := newRecorder()
		mustSubscribe(t, c, subject, r.handle)
		recs = append(recs, r)
	}
	want := numbered("ae", 50)
	for _, m := range want {
		mustPublish(t, conns[3], subject, "", []byte(m))
	}
	for i, r := range recs {
		r.waitCount(t, len(want))
		if got := r.data(); !equalStrings(got, want) {
			t.Fatalf("subscriber %d got %v, want %v in order", i, got, want)
		}
	}
}

func testWildcards(t *testing.T, newConns connFactory) {
	conns := newConns(t, 2)
	all, votes := newRecorder(), newRecorder()
	mustSubscribe(t, conns[0], AllSubjects, all.handle)
	mustSubscribe(t, conns[0], "$NRG.V.*", votes.handle)
	mustPublish(t, conns[1], VoteSubject("g3"), "", []byte("v"))
	mustPublish(t, conns[1], AppendSubject("g3"), "", []byte("a"))
	mustPublish(t, conns[1], ProposeSubject("g3"), "", []byte("p"))
	got := all.waitCount(t, 3)
	subjects := []string{got[0].Subject, got[1].Subject, got[2].Subject}
	want := []string{"$NRG.V.g3", "$NRG.AE.g3", "$NRG.P.g3"}
	if !equalStrings(subjects, want) {
		t.Fatalf("%q saw subjects %v, want %v", AllSubjects, subjects, want)
	}
	if v := votes.waitCount(t, 1); len(v) != 1 || v[0].Data != "v" {
		t.Fatalf("$NRG.V.* saw %v, want only the vote", v)
	}
}

func testUnsubscribe(t *testing.T, newConns connFactory) {
	conns := newConns(t, 2)
	subject := RemovePeerSubject("g4")
	gone, stays := newRecorder(), newRecorder()
	sub := mustSubscribe(t, conns[0], subject, gone.handle)
	mustSubscribe(t, conns[0], subject, stays.handle)
	if sub.Subject() != subject {
		t.Fatalf("Subject() = %q, want %q", sub.Subject(), subject)
	}
	mustPublish(t, conns[1], subject, "", []byte("before"))
	gone.waitCount(t, 1)
	stays.waitCount(t, 1)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	mustPublish(t, conns[1], subject, "", []byte("after"))
	stays.waitCount(t, 2)
	if got := gone.data(); !equalStrings(got, []string{"before"}) {
		t.Fatalf("unsubscribed handler got %v, want only [before]", got)
	}
}

func testSlowHandler(t *testing.T, newConns connFactory) {
	conns := newConns(t, 2)
	subject := AppendSubject("g5")
	unblock := make(chan struct{})
	slow, fast := newRecorder(), newRecorder()
	mustSubscribe(t, conns[0], subject, func(subject, reply string, data []byte) {
		<-unblock
		slow.handle(subject, reply, data)
	})
	mustSubscribe(t, conns[0], subject, fast.handle)
	want := numbered("m", 200)
	for _, m := range want {
		mustPublish(t, conns[1], subject, "", []byte(m))
	}
	// The fast subscription completes while the slow one is still stuck on
	// its first message: neither the publisher nor it waited.
	fast.waitCount(t, len(want))
	if n := len(slow.snapshot()); n != 0 {
		t.Fatalf("slow handler finished %d messages before being unblocked", n)
	}
	close(unblock)
	slow.waitCount(t, len(want))
	if got := slow.data(); !equalStrings(got, want) {
		t.Fatalf("slow subscriber got %v, want in-order %v", got, want)
	}
}

func testDataIsCopied(t *testing.T, newConns connFactory) {
	conns := newConns(t, 2)
	r := newRecorder()
	mustSubscribe(t, conns[0], ProposeSubject("g6"), r.handle)
	buf := []byte("original")
	mustPublish(t, conns[1], ProposeSubject("g6"), "", buf)
	copy(buf, "XXXXXXXX")
	if got := r.waitCount(t, 1)[0].Data; got != "original" {
		t.Fatalf("receiver saw %q after the publisher reused its buffer", got)
	}
	if !bytes.Equal(buf, []byte("XXXXXXXX")) {
		t.Fatalf("publish changed the caller's buffer to %q", buf)
	}
}

func testInboxes(t *testing.T, newConns connFactory) {
	conns := newConns(t, 1)
	seen := make(map[string]bool)
	for range 1000 {
		inbox := conns[0].NewInbox()
		suffix, ok := strings.CutPrefix(inbox, "$NRG.R.")
		if !ok || len(suffix) != inboxSuffixLen || strings.Trim(suffix, inboxDigits) != "" {
			t.Fatalf("inbox %q does not have the reference format $NRG.R.<8 base-62 digits>", inbox)
		}
		if seen[inbox] {
			t.Fatalf("inbox %q issued twice", inbox)
		}
		seen[inbox] = true
	}
	catchup := NewCatchupInbox(conns[0])
	if suffix, ok := strings.CutPrefix(catchup, "$NRG.CR."); !ok || len(suffix) != inboxSuffixLen {
		t.Fatalf("catchup inbox %q does not have the format $NRG.CR.<8 digits>", catchup)
	}
}

func testBadSubjects(t *testing.T, newConns connFactory) {
	conns := newConns(t, 1)
	c := conns[0]
	h := func(string, string, []byte) {}
	for _, subject := range []string{"", "a..b", "a.*", "a.>", "a b"} {
		if err := c.Publish(subject, "", nil); !errors.Is(err, ErrBadSubject) {
			t.Errorf("Publish(%q) = %v, want ErrBadSubject", subject, err)
		}
	}
	if err := c.Publish("a.b", "r.*", nil); !errors.Is(err, ErrBadSubject) {
		t.Errorf("Publish with wildcard reply = %v, want ErrBadSubject", err)
	}
	for _, subject := range []string{"", "a.>.b", ".a"} {
		if _, err := c.Subscribe(subject, h); !errors.Is(err, ErrBadSubject) {
			t.Errorf("Subscribe(%q) = %v, want ErrBadSubject", subject, err)
		}
	}
	if _, err := c.Subscribe("a.b", nil); err == nil {
		t.Error("Subscribe with a nil handler succeeded")
	}
}

func testClosed(t *testing.T, newConns connFactory) {
	conns := newConns(t, 1)
	c := conns[0]
	sub := mustSubscribe(t, c, VoteSubject("g7"), func(string, string, []byte) {})
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := c.Publish(VoteSubject("g7"), "", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Subscribe(VoteSubject("g7"), func(string, string, []byte) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if err := sub.Unsubscribe(); !errors.Is(err, ErrClosed) {
		t.Errorf("Unsubscribe after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// testNoEcho checks connections made without echo: self never hears itself,
// other still hears everyone.
func testNoEcho(t *testing.T, self, other Conn) {
	subject := VoteSubject("echo")
	selfRec, otherRec := newRecorder(), newRecorder()
	mustSubscribe(t, self, subject, selfRec.handle)
	mustSubscribe(t, other, subject, otherRec.handle)
	mustPublish(t, self, subject, "", []byte("mine"))
	otherRec.waitCount(t, 1)
	mustPublish(t, other, subject, "", []byte("theirs"))
	// Were "mine" echoed, it would have reached self ahead of "theirs".
	selfRec.waitCount(t, 1)
	if got := selfRec.data(); !equalStrings(got, []string{"theirs"}) {
		t.Fatalf("connection without echo got %v, want only [theirs]", got)
	}
}
