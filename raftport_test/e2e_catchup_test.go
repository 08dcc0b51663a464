package raftport_test

// End-to-end tests of catchups, the leader's answers to its followers and
// the follower's bookkeeping of its leader and peer set, each on one node
// stepped by hand (see stepped_test.go) on a host of its own: what the
// state machine is told during and after a catchup, when a catchup counts
// as stalled, which stream a canceled catchup leaves current, how a leader
// serves a follower that asks for entries, and what a peer-state entry or
// a new leader changes. They are fast and take no wall-clock decisions but
// the stall timeouts, which they set hours or whole intervals apart.

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// warnings records the warnings and errors a host logs.
type warnings struct {
	logCapture
	// expected is what a test expects warnings about; soloStep fails a
	// test whose node warned about anything else.
	expected string
}

func newWarnings() *warnings { return &warnings{logCapture: logCapture{warnOnly: true}} }

// containing lists the warnings logged so far that contain s.
func (w *warnings) containing(s string) []string {
	return slices.DeleteFunc(w.messages(), func(m string) bool { return !strings.Contains(m, s) })
}

// all lists every warning logged so far.
func (w *warnings) all() []string { return w.containing("") }

// soloStep is a stepped node alone on a host of its own (no other host
// runs), at timing tm, whose warnings are recorded: none of these
// scenarios gives a node reason to warn but about what the test expects.
func soloStep(t *testing.T, tm raftport.Timing, setup nodeSetup) (*stepped, *warnings) {
	t.Helper()
	c := createRaftClusterWithTiming(t, "R1S", 0, tm)
	w := newWarnings()
	t.Cleanup(func() {
		for _, m := range w.messages() {
			if w.expected == "" || !strings.Contains(m, w.expected) {
				t.Errorf("unexpected warning: %s", m)
			}
		}
	})
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) { cfg.Logger = slog.New(w) })
	return c.stepNodeOn(s, setup), w
}

// appliedEntries pops what the node queued for its state machine, each
// committed entry as "index:types" and a nil one as "nil".
func (st *stepped) appliedEntries() []string {
	var out []string
	for _, ce := range st.n.ApplyQ().Pop() {
		if ce == nil {
			out = append(out, "nil")
			continue
		}
		var types []string
		for _, e := range ce.Entries {
			name := e.Type.String()
			if e.Type == raftport.EntryCatchup { // local only, String does not name it
				name = "Catchup"
			}
			types = append(types, name)
		}
		out = append(out, fmt.Sprintf("%d:%s", ce.Index, strings.Join(types, ",")))
	}
	return out
}

// queuedForApply checks exactly what the node queued for its state machine
// since the last check, and takes it off the queue.
func queuedForApply(want ...string) check {
	return func(st *stepped) {
		st.t.Helper()
		if got := st.appliedEntries(); !slices.Equal(got, want) {
			st.t.Fatalf("apply queue holds %q, want %q", got, want)
		}
	}
}

// TestE2ECatchupSignalsStateMachineOnce checks what a follower's state
// machine is told about a catchup: once the catchup commits something, one
// EntryCatchup ahead of the catchup's committed entries (however many
// follow), and one nil entry when the catchup ends; a catchup that ended
// before committing anything tells it nothing.
func TestE2ECatchupSignalsStateMachineOnce(t *testing.T) {
	st, _ := soloStep(t, fastTiming(), nodeSetup{})
	leader := aeFrom(nats0, 1).inLeaderTerm(1).withEntry()

	// A live entry after index 3 starts a catchup up to it.
	st.live(leader.after(1, 3), catchupUpTo(1, 3), queuedForApply())
	signalled := field("catchup signal", func(st *stepped) bool { return st.catchupView().Signal }, true)
	st.catchup(leader.after(0, 0), lastIndex(1), queuedForApply(), field("catchup signal", func(st *stepped) bool { return st.catchupView().Signal }, false))
	st.catchup(leader.after(1, 1).committing(1), lastIndex(2), signalled, queuedForApply("0:Catchup", "1:Normal"))
	st.catchup(leader.after(1, 2).committing(2), lastIndex(3), signalled, queuedForApply("2:Normal"))
	// Our log reached the target: the next entry ends the catchup, and so
	// the run of catchup entries the state machine was told about, before
	// it commits more.
	st.catchup(leader.after(1, 3).committing(3), lastIndex(4), notCatchingUp(), queuedForApply("nil", "3:Normal"))

	// A catchup canceled before it committed anything.
	st.live(leader.after(1, 6), catchupUpTo(1, 6))
	st.catchup(leader.after(1, 4), lastIndex(5))
	st.p.CancelCatchup()
	st.expect(notCatchingUp(), queuedForApply())
}

// TestE2ECanceledCatchupLeavesItsStream checks which stream a canceled
// catchup leaves current: one canceled short of its target leaves none, so
// even a current leader's entry on it that would continue our log is
// dropped; one that reached its target stays current for the tail still
// in flight, until a cancel with no catchup under way drops it too.
func TestE2ECanceledCatchupLeavesItsStream(t *testing.T) {
	st, _ := soloStep(t, fastTiming(), nodeSetup{})
	leader := aeFrom(nats0, 1).inLeaderTerm(1).withEntry()

	st.live(leader.after(1, 2), catchupUpTo(1, 2))
	short := st.p.CatchupSub()
	st.p.CancelCatchup()
	st.expect(notCatchingUp())
	st.via(short, leader.after(0, 0), lastIndex(0))

	st.live(leader.after(1, 1), catchupUpTo(1, 1))
	reached := st.p.CatchupSub()
	st.catchup(leader.after(0, 0), lastIndex(1))
	st.p.CancelCatchup()
	st.expect(notCatchingUp())
	st.via(reached, leader.after(1, 1), lastIndex(2))

	st.p.CancelCatchup()
	st.via(reached, leader.after(1, 2), lastIndex(2))
}

// TestE2ECatchupStallNeedsAWholeIntervalWithoutProgress checks the
// follower's stall detection: live entries that arrive during a catchup
// are held without an answer while it is fresh, and while it progresses
// even after a long quiet, the progress being recorded as the catchup's
// new mark; only a whole stall interval without progress makes the next
// live entry ask again, on a fresh inbox. Asking logs no warning.
func TestE2ECatchupStallNeedsAWholeIntervalWithoutProgress(t *testing.T) {
	st, warns := soloStep(t, fastTiming(), nodeSetup{})
	answers := st.repliesOn("$TEST")
	leader := aeFrom(nats0, 1).inLeaderTerm(1).withEntry()
	live := leader.after(1, 3).answerTo("$TEST")

	st.live(live, catchupUpTo(1, 3), catchupFrom(0, 0))
	ar, msg := answers.next()
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 0)
	onCatchupInbox(t, msg)
	first := msg.Reply

	// Fresh: held, unanswered.
	st.live(live, lastIndex(0))
	answers.none()

	// Quiet for an hour, but the log grew since: progress, not a stall.
	require_NoError(t, st.p.SetCatchupProgress(0, time.Now().Add(-time.Hour)))
	st.catchup(leader.after(0, 0), lastIndex(1))
	before := time.Now()
	st.live(live, lastIndex(1), catchupFrom(0, 1))
	answers.none()
	if active := st.catchupView().Active; active.Before(before) {
		t.Fatalf("catchup progress recorded at %v, before the entry that showed it (%v)", active, before)
	}

	// No progress for longer than the stall interval: ask again.
	require_NoError(t, st.p.SetCatchupProgress(1, time.Now().Add(-time.Hour)))
	st.live(live, lastIndex(1), catchupUpTo(1, 3))
	ar, msg = answers.next()
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 1)
	onCatchupInbox(t, msg)
	require_NotEqual(t, msg.Reply, first)
	if w := warns.all(); len(w) != 0 {
		t.Fatalf("asking for catchups logged warnings: %q", w)
	}
}

// TestE2EFollowerRecordsItsLeader checks what a node records when it learns
// who leads: the leader's ID and that there is one; on the group's first
// leader, when it had campaigned at once as a scale-up from one replica
// does, a lead change saying it does not lead; as a follower it forgets
// when it heard from any peer but the leader, as the leader that steps
// aside it remembers them all.
func TestE2EFollowerRecordsItsLeader(t *testing.T) {
	st, _ := soloStep(t, patientQuorumTiming(), nodeSetup{})
	st.addPeers(nats0, nats1)
	hadLeader := func(want bool) check {
		return field("had a leader", func(st *stepped) bool { return st.n.HadPreviousLeader() }, want)
	}
	seen := func(want0, want1 bool) check {
		return func(st *stepped) {
			st.t.Helper()
			got := st.lastSeen()
			if got[nats0] != want0 || got[nats1] != want1 {
				st.t.Fatalf("last seen %v, want %s %v and %s %v", got, nats0, want0, nats1, want1)
			}
		}
	}
	leadChanges := func(want ...bool) check {
		return func(st *stepped) {
			st.t.Helper()
			var got []bool
			for more := true; more; {
				select {
				case v := <-st.n.LeadChangeC():
					got = append(got, v)
				default:
					more = false
				}
			}
			if !slices.Equal(got, want) {
				st.t.Fatalf("lead changes %v, want %v", got, want)
			}
		}
	}
	hear := func() {
		require_NoError(t, st.p.TrackPeer(nats0))
		require_NoError(t, st.p.TrackPeer(nats1))
	}

	hear()
	st.expect(seen(true, true), follows(""), hadLeader(false))
	require_NoError(t, st.n.CampaignImmediately())

	// Leaderless, a follower trusts no one's last contact.
	st.p.UpdateLeader("")
	st.expect(follows(""), hadLeader(false), leadChanges(), seen(false, false))

	hear()
	st.p.UpdateLeader(nats0)
	st.expect(follows(nats0), hadLeader(true), leadChanges(false), seen(true, false))

	// The next leader is not the group's first.
	hear()
	st.p.UpdateLeader(nats1)
	st.expect(follows(nats1), leadChanges(), seen(false, true))

	// As the leader that hands over, we keep every peer's last contact.
	st.p.SwitchToCandidate()
	st.p.SwitchToLeader()
	st.expect(follows(st.n.ID()))
	hear()
	st.p.UpdateLeader(nats0)
	st.expect(follows(nats0), leadChanges(), seen(true, true))
}

// TestE2EFollowerAdoptsLeadersPeerState checks a committed peer-state entry
// from the leader: the follower takes its cluster size, the quorum that
// size needs and exactly its peers, and reports them as its peer state.
func TestE2EFollowerAdoptsLeadersPeerState(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R1S", 0, fastTiming())
	s := c.addHost("S-1", c.dialHost("S-1"))
	st := c.stepNodeOn(s, nodeSetup{})
	want := []string{nats0, nats1, nats2, hostS2, s.ID()}
	slices.Sort(want)
	// The peer state a leader of those five sends.
	ps := c.stepNodeOn(s, nodeSetup{group: "FIVE", peers: want}).p.PeerStateEntry()
	quorum := field("quorum size", func(st *stepped) int { return st.state().Quorum }, 3)

	st.expect(clusterSize(1))
	st.live(aeFrom(nats0, 1).after(0, 0).carrying(ps), lastIndex(1), clusterSize(1))
	st.live(aeFrom(nats0, 1).after(1, 1).committing(1), committed(1), clusterSize(5), quorum)
	known := st.p.KnownPeers()
	slices.Sort(known)
	require_True(t, slices.Equal(known, want))
	cur := st.p.CurrentPeerState()
	slices.Sort(cur.KnownPeers)
	require_True(t, slices.Equal(cur.KnownPeers, want))
	require_Equal(t, cur.ClusterSize, 5)
}

// TestE2EFirstDataEndsScaleUpOnly checks that the first entry a scale-up
// member stores ends initializing, scale-up and the observer mode the
// scale-up put it in, and that a stored entry leaves an observer that is
// not scaling up an observer.
func TestE2EFirstDataEndsScaleUpOnly(t *testing.T) {
	st, _ := soloStep(t, fastTiming(), nodeSetup{})
	st.p.SetInitializing(true)
	st.p.SetScaleUp(true)
	st.n.SetObserver(true)
	st.expect(startupFlags(nodeFlags{Initializing: true, ScaleUp: true, Observer: true}))
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), lastIndex(1), startupFlags(nodeFlags{}))

	st.n.SetObserver(true)
	st.live(aeFrom(nats0, 1).after(1, 1).withEntry(), lastIndex(2), startupFlags(nodeFlags{Observer: true}))
}

// leaderOfThree is a stepped node that stored three entries of nats0 in
// term 1 and then took over as leader, with nats1 a known member.
func leaderOfThree(t *testing.T) (*stepped, *warnings) {
	t.Helper()
	st, warns := soloStep(t, patientQuorumTiming(), nodeSetup{})
	st.addPeers(nats0, nats1)
	for i := range uint64(3) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).withEntry())
	}
	st.expect(lastIndex(3))
	st.p.SetTerm(2)
	st.p.SwitchToLeader()
	return st, warns
}

// resent reads n off the wire: the entries a leader re-sent, by the index
// each follows.
func resent(t *testing.T, ch chan *message, n int) []uint64 {
	t.Helper()
	var got []uint64
	for range n {
		got = append(got, decodeAE(t, require_ChanRead(t, ch, 5*time.Second)).PIndex)
	}
	return got
}

// stats reads the node's recovery counters.
func (st *stepped) stats() raftport.NodeStats {
	return st.n.(interface{ Stats() raftport.NodeStats }).Stats()
}

// TestE2ELeaderServesOnlyFollowersThatAsk checks a leader's answers to
// failed responses: one without an inbox from an older term is ignored;
// one with an inbox gets the missing entries re-sent there, in order; and
// hearing from a member it does not know makes it propose adding it.
func TestE2ELeaderServesOnlyFollowersThatAsk(t *testing.T) {
	st, _ := leaderOfThree(t)
	stream := st.c.watch("$TEST", 8)
	quiet := &replies{st: st, ch: stream}

	st.ack(ackSpec{Peer: nats1, Term: 1, Index: 1}, inState(raftport.Leader))
	quiet.none()
	require_Equal(t, st.stats().EntriesResent, 0)

	st.ack(ackSpec{Peer: nats1, Term: 1, Index: 1, Reply: "$TEST"}, inState(raftport.Leader))
	// Our log ends with the entry that opened our term.
	require_True(t, slices.Equal(resent(t, stream, 3), []uint64{1, 2, 3}))
	quiet.none()
	require_Equal(t, st.stats().EntriesResent, 3)

	require_Equal(t, st.p.PendingProposals(), 0)
	require_NoError(t, st.p.TrackPeer(nats2))
	require_Equal(t, st.p.PendingProposals(), 1)
}

// TestE2ELeaderServesCatchupRequestFromTheWire checks a follower's request
// for missing entries as it travels: a failed response published to the
// leader's response subject with a reply inbox; the running leader loop
// re-sends the entries to that inbox.
func TestE2ELeaderServesCatchupRequestFromTheWire(t *testing.T) {
	st, _ := leaderOfThree(t)
	stream := st.c.watch("$TEST", 8)
	st.leaderLoopInBackground()

	ar := codec.EncodeAppendEntryResponse(ackSpec{Peer: nats1, Term: 1, Index: 2})
	require_NoError(t, st.c.client().Publish(st.p.Subjects().AppendResp, "$TEST", ar))
	require_True(t, slices.Equal(resent(t, stream, 2), []uint64{2, 3}))
}

// loadCounter is a WAL that counts the loads of each index.
type loadCounter struct {
	storage.WAL
	mu    sync.Mutex
	loads map[uint64]int
}

func (w *loadCounter) Load(index uint64) (uint64, []byte, error) {
	w.mu.Lock()
	w.loads[index]++
	w.mu.Unlock()
	return w.WAL.Load(index)
}

func (w *loadCounter) loadsOf(index uint64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loads[index]
}

// TestE2ELeaderPendingCacheBounds checks the leader's cache of entries
// waiting to commit: an entry is committed from the cache without reading
// the log back while fewer than the drop threshold are cached, and from
// the log once the cache is full; the leader warns when the count of
// cached entries reaches 10,000, and every 5,000 after, not before.
func TestE2ELeaderPendingCacheBounds(t *testing.T) {
	wal := &loadCounter{loads: map[uint64]int{}}
	st, warns := soloStep(t, patientQuorumTiming(), nodeSetup{wrapLog: func(w storage.WAL) storage.WAL {
		wal.WAL = w
		return wal
	}})
	st.p.SwitchToLeader()
	// fill caches stand-ins up to total entries, far past the log.
	cached := 0
	fill := func(total int) {
		st.p.Lock()
		for ; cached < total; cached++ {
			st.p.CachePendingLocked(1<<40+uint64(cached), aeSpec{})
		}
		st.p.Unlock()
	}
	// send stores one entry, which commits at once in a group of one,
	// and reports how often the log was read at its index.
	send := func() int {
		t.Helper()
		st.p.SendAppendEntry(sampleEntries())
		r := st.state()
		require_Equal(t, r.Commit, r.PIndex)
		return wal.loadsOf(r.PIndex)
	}
	const warning = "unacknowledged entries queued"
	warns.mu.Lock()
	warns.expected = warning
	warns.mu.Unlock()

	require_Equal(t, send(), 0)
	fill(9_998)
	require_Equal(t, send(), 0)
	require_Len(t, len(warns.containing(warning)), 0)
	fill(9_999)
	require_Equal(t, send(), 0)
	require_True(t, slices.Equal(warns.containing(warning), []string{
		fmt.Sprintf("RAFT [%s - TEST] Leader has 10000 unacknowledged entries queued", st.n.ID())}))

	fill(limits.PendingCacheDropThreshold - 1)
	require_Equal(t, send(), 0)
	fill(limits.PendingCacheDropThreshold)
	if loads := send(); loads == 0 {
		t.Fatal("an entry committed past the drop threshold was not read back from the log")
	}
	require_True(t, slices.Equal(warns.containing(warning), []string{
		fmt.Sprintf("RAFT [%s - TEST] Leader has 10000 unacknowledged entries queued", st.n.ID()),
		fmt.Sprintf("RAFT [%s - TEST] Leader has 20000 unacknowledged entries queued", st.n.ID())}))
}

// TestE2ELeaderRetiresFinishedCatchup checks the end of a catchup stream
// that sent everything: the leader forgets the stream, and proposes adding
// the follower it caught up when that is no member, but not a member.
func TestE2ELeaderRetiresFinishedCatchup(t *testing.T) {
	st, _ := leaderOfThree(t)
	stream := st.c.watch("$TEST", 8)
	streams := func() error {
		if f := st.p.CatchupFollowers(); len(f) != 0 {
			return fmt.Errorf("still streaming to %v", f)
		}
		return nil
	}

	st.p.CatchupFollower(ackSpec{Peer: nats1, Term: 1, Index: 1, Reply: "$TEST"})
	require_True(t, slices.Equal(resent(t, stream, 3), []uint64{1, 2, 3}))
	within(t, 2*time.Second, streams)
	require_Equal(t, st.p.PendingProposals(), 0)

	st.p.CatchupFollower(ackSpec{Peer: nats2, Term: 0, Index: 0, Reply: "$TEST"})
	require_True(t, slices.Equal(resent(t, stream, 4), []uint64{0, 1, 2, 3}))
	within(t, 2*time.Second, streams)
	require_Equal(t, st.p.PendingProposals(), 1)
}

// TestE2ELeaderCatchupStreamEndsWithLeadership checks a catchup stream
// whose window is full: it keeps waiting for acknowledgements while we
// lead and it is not stalled (a few of its leadership checks), sends one
// more entry per acknowledgement, and ends once we no longer lead.
func TestE2ELeaderCatchupStreamEndsWithLeadership(t *testing.T) {
	// A stall interval of 2s, checked every 100ms.
	tm := patientQuorumTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 4*time.Second, 8*time.Second
	st, _ := soloStep(t, tm, nodeSetup{})
	st.addPeers(nats1)
	const entries = 24
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, 100*1024)}
	for i := range uint64(entries) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).carrying(big))
	}
	st.p.SetTerm(2)
	st.p.SwitchToLeader()
	stream := st.c.watch("$TEST", 2*entries)
	quiet := &replies{st: st, ch: stream}

	st.p.CatchupFollower(ackSpec{Peer: nats1, Term: 0, Index: 0, Reply: "$TEST"})
	// The stream fills its 2 MiB window, the last entry crossing it.
	sent, size := 0, 0
	for size <= 2*1024*1024 {
		msg := require_ChanRead(t, stream, 5*time.Second)
		require_Equal(t, decodeAE(t, msg).PIndex, uint64(sent))
		sent, size = sent+1, size+len(msg.Data)
	}
	require_LessThan(t, sent, entries)
	running := func() bool { return slices.Equal(st.p.CatchupFollowers(), []string{nats1}) }
	staysFor(t, 350*time.Millisecond, "the stream to nats1 runs", running)
	quiet.none()

	st.ack(ackFrom(nats1, 1, 1, true))
	require_True(t, slices.Equal(resent(t, stream, 1), []uint64{uint64(sent)}))
	quiet.none()

	st.p.Stepdown("")
	within(t, 2*time.Second, holds("no stream runs", func() bool { return len(st.p.CatchupFollowers()) == 0 }))
	quiet.none()
}
