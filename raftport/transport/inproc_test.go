package transport

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestNetwork(t *testing.T, opts NetworkOptions) *Network {
	n := NewNetwork(opts)
	t.Cleanup(n.Close)
	return n
}

func TestInprocConformance(t *testing.T) {
	runConformance(t, func(t *testing.T, count int) []Conn {
		n := newTestNetwork(t, NetworkOptions{Seed: 1})
		conns := make([]Conn, count)
		for i := range conns {
			conns[i] = n.Connect(fmt.Sprintf("n%d", i))
		}
		return conns
	})
}

// cluster connects the named nodes and gives each a recorder subscribed to
// subject.
func cluster(t *testing.T, n *Network, subject string, ids ...string) (map[string]Conn, map[string]*recorder) {
	t.Helper()
	conns, recs := make(map[string]Conn), make(map[string]*recorder)
	for _, id := range ids {
		conns[id] = n.Connect(id)
		recs[id] = newRecorder()
		mustSubscribe(t, conns[id], subject, recs[id].handle)
	}
	return conns, recs
}

func waitIdle(t *testing.T, n *Network) {
	t.Helper()
	if err := n.WaitIdle(waitTimeout); err != nil {
		t.Fatal(err)
	}
}

func TestInprocDropProbabilityIsSeeded(t *testing.T) {
	run := func(seed int64) ([]string, Stats) {
		n := newTestNetwork(t, NetworkOptions{Seed: seed})
		conns, recs := cluster(t, n, VoteSubject("g"), "a", "b")
		n.Drop(Filter{To: "b"}, 0.25)
		for _, m := range numbered("v", 1000) {
			mustPublish(t, conns["a"], VoteSubject("g"), "", []byte(m))
		}
		waitIdle(t, n)
		if got := len(recs["a"].snapshot()); got != 1000 {
			t.Fatalf("a received %d of its own messages, want all 1000 (rule filters To b)", got)
		}
		return recs["b"].data(), n.Stats("")
	}
	first, stats := run(42)
	again, _ := run(42)
	other, _ := run(43)
	if !equalStrings(first, again) {
		t.Fatal("the same seed dropped different messages")
	}
	if equalStrings(first, other) {
		t.Fatal("different seeds dropped the same 250-odd messages")
	}
	dropped := 1000 - len(first)
	if dropped < 200 || dropped > 300 {
		t.Fatalf("dropped %d of 1000 at p=0.25", dropped)
	}
	if stats.Sent != 1000 || stats.Dropped != uint64(dropped) || stats.Delivered != uint64(2000-dropped) {
		t.Fatalf("stats %+v, want sent 1000, dropped %d, delivered %d", stats, dropped, 2000-dropped)
	}
}

func TestInprocDropNext(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, AppendSubject("g"), "a", "b", "c")
	id := n.DropNext(Filter{SubjectPrefix: "$NRG.AE.", From: "a", To: "b"}, 3)
	for _, m := range numbered("ae", 6) {
		mustPublish(t, conns["a"], AppendSubject("g"), "", []byte(m))
	}
	mustPublish(t, conns["c"], AppendSubject("g"), "", []byte("from-c"))
	waitIdle(t, n)
	if got, want := recs["b"].data(), []string{"ae3", "ae4", "ae5", "from-c"}; !equalStrings(got, want) {
		t.Fatalf("b got %v, want %v", got, want)
	}
	if got := recs["c"].data(); len(got) != 7 {
		t.Fatalf("c got %v, want all 7", got)
	}
	if !n.RemoveRule(id) || n.RemoveRule(id) {
		t.Fatal("RemoveRule should report true once, then false")
	}
}

func TestInprocDelay(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, AllSubjects, "a", "b")
	const delay = 80 * time.Millisecond
	n.Delay(Filter{SubjectPrefix: "$NRG.V.", To: "b"}, delay, delay)
	start := time.Now()
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("vote"))
	mustPublish(t, conns["a"], AppendSubject("g"), "", []byte("append"))
	got := recs["b"].waitCount(t, 2)
	elapsed := time.Since(start)
	if got[0].Data != "append" || got[1].Data != "vote" {
		t.Fatalf("b got %v, want the undelayed append to overtake the delayed vote", got)
	}
	if elapsed < delay {
		t.Fatalf("delayed vote arrived after %v, want at least %v", elapsed, delay)
	}
	waitIdle(t, n)
	if a := recs["a"].data(); !equalStrings(a, []string{"vote", "append"}) {
		t.Fatalf("a, outside the filter, got %v", a)
	}
}

func TestInprocDelayRange(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{Seed: 5})
	conns, recs := cluster(t, n, AppendSubject("g"), "a", "b")
	n.Delay(Filter{To: "b"}, 10*time.Millisecond, 60*time.Millisecond)
	start := time.Now()
	sent := numbered("m", 20)
	for _, m := range sent {
		mustPublish(t, conns["a"], AppendSubject("g"), "", []byte(m))
	}
	got := recs["b"].waitCount(t, len(sent))
	if time.Since(start) < 10*time.Millisecond {
		t.Fatal("range-delayed messages arrived before the minimum delay")
	}
	if equalStrings(recs["b"].data(), sent) {
		t.Fatalf("20 messages with delays drawn from 10-60ms arrived in publish order: %v", got)
	}
}

func TestInprocDuplicate(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, ProposeSubject("g"), "a", "b")
	n.Duplicate(Filter{From: "a", To: "b"}, 1)
	mustPublish(t, conns["a"], ProposeSubject("g"), "", []byte("p0"))
	mustPublish(t, conns["a"], ProposeSubject("g"), "", []byte("p1"))
	waitIdle(t, n)
	if got, want := recs["b"].data(), []string{"p0", "p0", "p1", "p1"}; !equalStrings(got, want) {
		t.Fatalf("b got %v, want %v", got, want)
	}
	if st := n.Stats("$NRG.P."); st.Duplicated != 2 || st.Delivered != 6 {
		t.Fatalf("stats %+v, want 2 duplicated and 6 delivered", st)
	}
}

func TestInprocReorder(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{ReorderWindow: time.Minute})
	conns, recs := cluster(t, n, AppendSubject("g"), "a", "b")
	n.Reorder(Filter{To: "b"}, 1)
	for _, m := range numbered("m", 6) {
		mustPublish(t, conns["a"], AppendSubject("g"), "", []byte(m))
	}
	waitIdle(t, n)
	if got, want := recs["b"].data(), []string{"m1", "m0", "m3", "m2", "m5", "m4"}; !equalStrings(got, want) {
		t.Fatalf("b got %v, want each held message overtaken by the next: %v", got, want)
	}
}

func TestInprocReorderWindowReleases(t *testing.T) {
	const window = 40 * time.Millisecond
	n := newTestNetwork(t, NetworkOptions{ReorderWindow: window})
	conns, recs := cluster(t, n, AppendSubject("g"), "a", "b")
	n.Reorder(Filter{To: "b"}, 1)
	start := time.Now()
	mustPublish(t, conns["a"], AppendSubject("g"), "", []byte("alone"))
	recs["b"].waitCount(t, 1)
	if elapsed := time.Since(start); elapsed < window {
		t.Fatalf("a held message with nothing to overtake it came after %v, before the %v window", elapsed, window)
	}
}

func TestInprocPartitionAndHeal(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, VoteSubject("g"), "a", "b", "c")
	n.Partition([]string{"a"}, []string{"b", "c"})
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("from-a"))
	mustPublish(t, conns["b"], VoteSubject("g"), "", []byte("from-b"))
	waitIdle(t, n)
	if got := recs["a"].data(); !equalStrings(got, []string{"from-a"}) {
		t.Fatalf("partitioned a got %v, want only its own message", got)
	}
	for _, id := range []string{"b", "c"} {
		if got := recs[id].data(); !equalStrings(got, []string{"from-b"}) {
			t.Fatalf("%s got %v, want only from-b", id, got)
		}
	}
	if st := n.Stats(""); st.Dropped != 3 {
		t.Fatalf("partition dropped %d copies, want 3 (a->b, a->c, b->a)", st.Dropped)
	}
	n.Heal()
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("healed"))
	waitIdle(t, n)
	for _, id := range []string{"b", "c"} {
		if got := recs[id].data(); !equalStrings(got, []string{"from-b", "healed"}) {
			t.Fatalf("after heal %s got %v", id, got)
		}
	}
}

func TestInprocIsolateAndBlock(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, VoteSubject("g"), "a", "b")
	n.Isolate("a")
	late := n.Connect("late")
	lateRec := newRecorder()
	mustSubscribe(t, late, VoteSubject("g"), lateRec.handle)
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("a1"))
	mustPublish(t, conns["b"], VoteSubject("g"), "", []byte("b1"))
	waitIdle(t, n)
	if got := recs["a"].data(); !equalStrings(got, []string{"a1"}) {
		t.Fatalf("isolated a got %v", got)
	}
	if got := lateRec.data(); !equalStrings(got, []string{"b1"}) {
		t.Fatalf("a node connected after Isolate got %v, want only b1", got)
	}
	n.Heal()
	n.Block("a", "b")
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("a2"))
	mustPublish(t, conns["b"], VoteSubject("g"), "", []byte("b2"))
	waitIdle(t, n)
	if got := recs["b"].data(); !equalStrings(got, []string{"b1", "b2"}) {
		t.Fatalf("b, blocked from a, got %v", got)
	}
	if got := recs["a"].data(); !equalStrings(got, []string{"a1", "a2", "b2"}) {
		t.Fatalf("a, whose link to b is cut one way only, got %v", got)
	}
}

func TestInprocHoldAndStep(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	a, b := n.Connect("a"), n.Connect("b")
	inbox := a.NewInbox()
	answers := newRecorder()
	mustSubscribe(t, a, inbox, answers.handle)
	requests := newRecorder()
	mustSubscribe(t, b, VoteSubject("g"), func(subject, reply string, data []byte) {
		requests.handle(subject, reply, data)
		if err := b.Publish(reply, "", append([]byte("ok:"), data...)); err != nil {
			t.Errorf("reply: %v", err)
		}
	})
	n.Hold()
	mustPublish(t, a, VoteSubject("g"), inbox, []byte("r0"))
	mustPublish(t, a, VoteSubject("g"), inbox, []byte("r1"))
	pending := n.Pending()
	if len(pending) != 2 || pending[0].Data[1] != '0' || pending[0].From != "a" || pending[0].To != "b" || pending[0].Reply != inbox {
		t.Fatalf("pending %+v, want r0 then r1 from a to b", pending)
	}
	if len(requests.snapshot()) != 0 {
		t.Fatal("a held message was delivered")
	}
	msg, ok := n.DeliverNext()
	if !ok || string(msg.Data) != "r0" {
		t.Fatalf("DeliverNext = %+v, %v; want r0", msg, ok)
	}
	// DeliverNext returns after the handler, so no wait is needed here.
	if got := requests.data(); !equalStrings(got, []string{"r0"}) {
		t.Fatalf("after one step b handled %v", got)
	}
	if p := n.Pending(); len(p) != 2 || string(p[0].Data) != "r1" || string(p[1].Data) != "ok:r0" {
		t.Fatalf("pending %+v, want r1 then the reply ok:r0", p)
	}
	if got := n.Flush(); got != 2 {
		t.Fatalf("Flush delivered %d, want the 2 held when it started", got)
	}
	if p := n.Pending(); len(p) != 1 || string(p[0].Data) != "ok:r1" {
		t.Fatalf("after Flush pending %+v, want the reply published during it", p)
	}
	n.Release()
	answers.waitCount(t, 2)
	if got := answers.data(); !equalStrings(got, []string{"ok:r0", "ok:r1"}) {
		t.Fatalf("answers %v", got)
	}
	if _, ok := n.DeliverNext(); ok {
		t.Fatal("DeliverNext found a message after Release")
	}
}

func TestInprocStatsByPrefix(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, _ := cluster(t, n, AllSubjects, "a", "b")
	n.DropNext(Filter{SubjectPrefix: "$NRG.V."}, 1)
	mustPublish(t, conns["a"], VoteSubject("g"), "", nil)
	mustPublish(t, conns["a"], AppendSubject("g"), "", nil)
	mustPublish(t, conns["a"], AppendSubject("h"), "", nil)
	waitIdle(t, n)
	cases := map[string]Stats{
		"$NRG.V.":   {Sent: 1, Delivered: 1, Dropped: 1},
		"$NRG.AE.":  {Sent: 2, Delivered: 4},
		"$NRG.AE.h": {Sent: 1, Delivered: 2},
		"":          {Sent: 3, Delivered: 5, Dropped: 1},
	}
	for prefix, want := range cases {
		if got := n.Stats(prefix); got != want {
			t.Errorf("Stats(%q) = %+v, want %+v", prefix, got, want)
		}
	}
}

func TestInprocUnsubscribeDiscardsQueued(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, VoteSubject("g"), "a", "b")
	n.Delay(Filter{To: "b"}, time.Hour, time.Hour)
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("late"))
	if err := conns["b"].Close(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, n)
	if got := recs["b"].data(); len(got) != 0 {
		t.Fatalf("closed b still got %v", got)
	}
	if st := n.Stats(""); st.Delivered != 1 {
		t.Fatalf("stats %+v, want only a's own copy delivered", st)
	}
}

func TestInprocNodeRestart(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	a := n.Connect("a")
	if _, err := n.Dial("a"); err == nil || !strings.Contains(err.Error(), "already connected") {
		t.Fatalf("second Dial of a live ID = %v, want an 'already connected' error", err)
	}
	if _, err := n.Dial(""); err == nil {
		t.Fatal("Dial with an empty ID succeeded")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := n.Dial("a")
	if err != nil {
		t.Fatalf("Dial after the old connection closed: %v", err)
	}
	rec := newRecorder()
	mustSubscribe(t, again, VoteSubject("g"), rec.handle)
	mustPublish(t, again, VoteSubject("g"), "", []byte("back"))
	rec.waitCount(t, 1)
	n.Close()
	if _, err := n.Dial("z"); err != ErrClosed {
		t.Fatalf("Dial on a closed network = %v, want ErrClosed", err)
	}
	if err := again.Publish(VoteSubject("g"), "", nil); err != ErrClosed {
		t.Fatalf("Publish on a closed network = %v, want ErrClosed", err)
	}
}

func TestInprocCloseWithQueuedMessages(t *testing.T) {
	n := NewNetwork(NetworkOptions{})
	conns, _ := cluster(t, n, VoteSubject("g"), "a", "b")
	n.Delay(Filter{}, time.Hour, time.Hour)
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("never"))
	n.Hold()
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("held"))
	done := make(chan struct{})
	go func() {
		n.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return with delayed and held messages queued")
	}
	if st := n.Stats(""); st.Delivered != 0 {
		t.Fatalf("stats %+v, want nothing delivered", st)
	}
}

func TestInprocBadRuleArguments(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	cases := map[string]func(){
		"drop p>1":        func() { n.Drop(Filter{}, 1.5) },
		"duplicate p<0":   func() { n.Duplicate(Filter{}, -0.1) },
		"reorder NaN":     func() { n.Reorder(Filter{}, zero/zero) },
		"dropnext count":  func() { n.DropNext(Filter{}, -1) },
		"delay max < min": func() { n.Delay(Filter{}, time.Second, time.Millisecond) },
		"connect empty":   func() { n.Connect("") },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

var zero float64

func TestSubjectHelpers(t *testing.T) {
	for got, want := range map[string]string{
		VoteSubject("g"):       "$NRG.V.g",
		AppendSubject("g"):     "$NRG.AE.g",
		ProposeSubject("g"):    "$NRG.P.g",
		RemovePeerSubject("g"): "$NRG.RP.g",
		ReplyInbox("abc"):      "$NRG.R.abc",
		CatchupInbox("abc"):    "$NRG.CR.abc",
		inboxSuffix(0):         "00000000",
		inboxSuffix(63):        "11000000",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if err := CheckGroup("S-R3F-abc"); err != nil {
		t.Errorf("CheckGroup(valid) = %v", err)
	}
	for _, bad := range []string{"", "a.b", "a*", ">", "a b"} {
		if err := CheckGroup(bad); err == nil {
			t.Errorf("CheckGroup(%q) accepted a bad group", bad)
		}
	}
	matches := []struct {
		pattern, subject string
		want             bool
	}{
		{"$NRG.>", "$NRG.V.g", true},
		{"$NRG.>", "$NRG", false},
		{"$NRG.*.g", "$NRG.AE.g", true},
		{"$NRG.*.g", "$NRG.AE.h", false},
		{"$NRG.V.g", "$NRG.V.g", true},
		{"$NRG.V.g", "$NRG.V.g.x", false},
		{"$NRG.V.g.x", "$NRG.V.g", false},
		{"$NRG.*", "$NRG.V.g", false},
		{"a*b.>", "a*b.c", true},
		{"a*b.c", "a*b.c", true},
		{"a*b.c", "axb.c", false},
	}
	for _, m := range matches {
		if got := subjectMatches(m.pattern, m.subject); got != m.want {
			t.Errorf("subjectMatches(%q, %q) = %v", m.pattern, m.subject, got)
		}
		// A subscription compares literal patterns directly; it must
		// agree with the token walk.
		if got := newInprocSub(nil, m.pattern, nil).matches(m.subject); got != m.want {
			t.Errorf("a subscription to %q matches %q: %v", m.pattern, m.subject, got)
		}
	}
}

func TestInprocAccountsSeparateTraffic(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	sysA, err := n.DialAccount("a", "$SYS")
	if err != nil {
		t.Fatal(err)
	}
	sysB, err := n.DialAccount("b", "$SYS")
	if err != nil {
		t.Fatal(err)
	}
	acctB, err := n.DialAccount("b", "ACME")
	if err != nil {
		t.Fatalf("a second account for the same node: %v", err)
	}
	if _, err := n.DialAccount("b", "ACME"); err == nil {
		t.Fatal("the same node connected twice in one account")
	}
	inSys, inAcme := newRecorder(), newRecorder()
	mustSubscribe(t, sysB, VoteSubject("g"), inSys.handle)
	mustSubscribe(t, acctB, VoteSubject("g"), inAcme.handle)
	n.Hold()
	mustPublish(t, sysA, VoteSubject("g"), "", []byte("sys"))
	if p := n.Pending(); len(p) != 1 || p[0].Account != "$SYS" || p[0].To != "b" {
		t.Fatalf("pending %+v, want one $SYS message to b", p)
	}
	n.Release()
	waitIdle(t, n)
	if got := inSys.data(); !equalStrings(got, []string{"sys"}) {
		t.Fatalf("$SYS subscriber got %v", got)
	}
	if got := inAcme.data(); len(got) != 0 {
		t.Fatalf("ACME subscriber saw $SYS traffic: %v", got)
	}
	n.Isolate("a")
	mustPublish(t, sysA, VoteSubject("g"), "", []byte("cut"))
	waitIdle(t, n)
	if got := inSys.data(); len(got) != 1 {
		t.Fatalf("isolating node a did not cut its $SYS connection: %v", got)
	}
}

func TestInprocNoEcho(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{NoEcho: true})
	testNoEcho(t, n.Connect("a"), n.Connect("b"))
}

func TestInprocClearRulesAndWaitIdleTimeout(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, VoteSubject("g"), "a", "b")
	n.Drop(Filter{}, 1)
	n.Delay(Filter{}, time.Hour, time.Hour)
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("dropped"))
	n.ClearRules()
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("kept"))
	waitIdle(t, n)
	if got := recs["b"].data(); !equalStrings(got, []string{"kept"}) {
		t.Fatalf("after ClearRules b got %v, want [kept]", got)
	}
	n.Delay(Filter{To: "b"}, time.Hour, time.Hour)
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("stuck"))
	err := n.WaitIdle(30 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "1 messages still in flight") {
		t.Fatalf("WaitIdle with an hour-delayed message = %v, want a timeout naming 1 in flight", err)
	}
}

// plainConn is a Conn whose inboxes are not NRG inboxes.
type plainConn struct{ Conn }

func (plainConn) NewInbox() string { return "_INBOX.x" }

func TestNewCatchupInboxFromForeignInbox(t *testing.T) {
	inbox := NewCatchupInbox(plainConn{})
	if suffix, ok := strings.CutPrefix(inbox, "$NRG.CR."); !ok || len(suffix) != inboxSuffixLen {
		t.Fatalf("catchup inbox %q from a non-NRG inbox, want $NRG.CR.<8 digits>", inbox)
	}
}

func TestInprocHandlerUnsubscribesItself(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	c := n.Connect("a")
	rec := newRecorder()
	var sub Subscription
	ready := make(chan struct{})
	sub = mustSubscribe(t, c, VoteSubject("g"), func(subject, reply string, data []byte) {
		<-ready
		rec.handle(subject, reply, data)
		if err := sub.Unsubscribe(); err != nil {
			t.Errorf("unsubscribe from its own handler: %v", err)
		}
	})
	close(ready)
	for _, m := range numbered("v", 3) {
		mustPublish(t, c, VoteSubject("g"), "", []byte(m))
	}
	waitIdle(t, n)
	if got := rec.data(); !equalStrings(got, []string{"v0"}) {
		t.Fatalf("handler that unsubscribed on its first call got %v", got)
	}
}

// TestInprocSharesOneCopy: Publish copies the data once, and every
// receiver, duplicates included, is handed that copy; the publisher's
// buffer, reused while the messages are still held, is not it.
func TestInprocSharesOneCopy(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	a := n.Connect("a")
	var mu sync.Mutex
	got := make(map[string][][]byte)
	for _, id := range []string{"b", "c"} {
		mustSubscribe(t, n.Connect(id), AppendSubject("g"), func(_, _ string, data []byte) {
			mu.Lock()
			got[id] = append(got[id], data)
			mu.Unlock()
		})
	}
	n.Duplicate(Filter{To: "c"}, 1)
	n.Hold()
	buf := []byte("original")
	mustPublish(t, a, AppendSubject("g"), "", buf)
	copy(buf, "XXXXXXXX")
	n.Release()
	waitIdle(t, n)

	mu.Lock()
	defer mu.Unlock()
	if len(got["b"]) != 1 || len(got["c"]) != 2 {
		t.Fatalf("b got %d messages and c %d, want 1 and 2 (c's duplicated)", len(got["b"]), len(got["c"]))
	}
	first := got["b"][0]
	for _, data := range append(got["b"], got["c"]...) {
		if string(data) != "original" {
			t.Fatalf("a receiver saw %q after the publisher reused its buffer", data)
		}
		if &data[0] != &first[0] {
			t.Fatal("receivers were handed different copies of one message")
		}
		// An append by one receiver must not write into bytes the
		// others share.
		if cap(data) != len(data) {
			t.Fatalf("delivered data has capacity %d beyond its %d bytes", cap(data), len(data))
		}
	}
	if &first[0] == &buf[0] {
		t.Fatal("receivers were handed the publisher's own buffer")
	}
}

// TestInprocPublishOwnedHandsOverTheBuffer: an owned publish delivers the
// publisher's own bytes, capped at their length, to every receiver.
func TestInprocPublishOwnedHandsOverTheBuffer(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	a := n.Connect("a")
	got := make(chan []byte, 2)
	for _, id := range []string{"b", "c"} {
		mustSubscribe(t, n.Connect(id), AppendSubject("g"), func(_, _ string, data []byte) { got <- data })
	}
	buf := make([]byte, 5, 64)
	copy(buf, "owned")
	oc, ok := a.(OwningConn)
	if !ok {
		t.Fatal("the in-process connection cannot publish owned buffers")
	}
	if err := oc.PublishOwned(AppendSubject("g"), "", buf); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, n)
	for range 2 {
		data := <-got
		if &data[0] != &buf[0] || string(data) != "owned" {
			t.Fatalf("a receiver got %q in another array than the publisher's", data)
		}
		if cap(data) != len(data) {
			t.Fatalf("delivered data has capacity %d beyond its %d bytes", cap(data), len(data))
		}
	}
}
