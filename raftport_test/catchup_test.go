package raftport_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// TestNRGRejectNewAppendEntryFromPreviousLeader ports test 2668: after
// voting in a higher term a follower refuses a new entry of the old one.
func TestNRGRejectNewAppendEntryFromPreviousLeader(t *testing.T) {
	st := stepNode(t)
	oldLeader := aeFrom(nats0, 1).withEntry()

	// Accepted: it is of our term.
	st.p.SetTerm(1)
	st.live(oldLeader.after(0, 0), tip(1, 1))

	st.vote(askVote("", 5, 1, 2))

	st.live(oldLeader.after(1, 1).committing(1), tip(1, 1))
}

// TestNRGRejectAppendEntryDuringCatchupFromPreviousLeader ports test 2669:
// once we voted in a higher term, catchup entries of an old leader are
// refused when they carry that leader's term (lterm); a leader too old to
// send lterm is still accepted for compatibility.
func TestNRGRejectAppendEntryDuringCatchupFromPreviousLeader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		onCatchup bool   // the second entry comes on the catchup subscription
		oldSender bool   // the sender is too old to send lterm
		wantIndex uint64 // where our log ends after it
	}{
		{name: "new-entry", wantIndex: 1},
		{name: "new-entry-backward-compatible", oldSender: true, wantIndex: 1},
		{name: "catchup", onCatchup: true, wantIndex: 1},
		{name: "catchup-backward-compatible", onCatchup: true, oldSender: true, wantIndex: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := stepNode(t)
			sender := aeFrom(nats0, 1).withEntry()
			first, second := sender.after(0, 0), sender.after(1, 1).committing(1)

			// Missing the first entry starts a catchup from the start.
			st.p.SetTerm(1)
			st.live(second, catchupFrom(0, 0), catchupUpTo(second.PTerm, second.PIndex))

			// A current leader sends its term with the catchup entries.
			if !tc.oldSender {
				first, second = first.inLeaderTerm(1), second.inLeaderTerm(1)
			}
			held := st.p.HoldCatchup()
			st.via(held.Sub(), first, tip(1, 1))

			// Voting in a new term cancels the catchup; put it back to see
			// what a catchup entry does after the term moved on.
			st.vote(askVote("", 5, 1, 2))
			sub := st.p.AESub()
			if tc.onCatchup {
				st.p.RestoreCatchup(held)
				sub = held.Sub()
			}
			st.via(sub, second, tip(1, tc.wantIndex))
		})
	}
}

// TestNRGDontRejectAppendEntryFromReplay ports test 2670: entries a leader
// stored alone are replayed (after an optional restart) and still reach a
// follower that comes back.
func TestNRGDontRejectAppendEntryFromReplay(t *testing.T) {
	eitherWay(t, "no-restart", "with-restart", func(t *testing.T, restartLeader bool) {
		_, rg, leader := electedAdders(t, groupSpec{})
		returning := rg.nonLeader()
		rg.except(leader).stopAll()

		proposeAndWaitStored(t, leader, 10)
		if restartLeader {
			leader.stop()
			leader.restart()
		}
		returning.restart()

		within(t, 5*time.Second, sumsTo(10, leader, returning))
	})
}

// TestNRGSimpleCatchup ports test 2671: a member that was down catches up
// from the log, from the same or from a new leader.
func TestNRGSimpleCatchup(t *testing.T) {
	eitherWay(t, "same-leader", "change-leader", func(t *testing.T, stepDown bool) {
		_, rg, leader := electedAdders(t, groupSpec{})
		down := rg.nonLeader()
		down.stop()

		leader.proposeDelta(10)
		within(t, 2*time.Second, func() error {
			return errors.Join(sumsTo(10, rg.except(down)...)(), sumsTo(0, down)())
		})

		if stepDown {
			require_NoError(t, leader.node().StepDown())
		}
		down.restart()
		rg.waitOnTotal(t, 10)
	})
}

// storeTwoOfFirstLeader has the node store two entries of nats0 in term 1,
// the second committing the first, and returns the entry the next leader
// (nats1, term 2) sends at the second one's index.
func storeTwoOfFirstLeader(st *stepped) (replacement aeDraft) {
	st.t.Helper()
	first := aeFrom(nats0, 1).withEntry()
	st.live(first.after(0, 0), committed(0), logHolds(1), writtenBy(1, nats0), follows(nats0))
	st.live(first.after(1, 1).committing(1), committed(1), logHolds(2), writtenBy(2, nats0))
	return aeFrom(nats1, 2).after(1, 1).committing(1).withEntry()
}

// TestNRGTruncateDownToCommitted ports test 2655: an entry of a new leader
// at an uncommitted index replaces ours and is stored right away.
func TestNRGTruncateDownToCommitted(t *testing.T) {
	st := stepNode(t)
	replacement := storeTwoOfFirstLeader(st)

	st.live(replacement, committed(1), logHolds(2), writtenBy(2, nats1), follows(nats1))
	st.live(aeFrom(nats1, 2).after(2, 2).committing(2), committed(2))
}

// truncateAlwaysFails is a log whose Truncate always fails.
type truncateAlwaysFails struct {
	storage.WAL
}

var errTruncateFails = errors.New("test: truncate always fails")

func (truncateAlwaysFails) Truncate(uint64) error { return errTruncateFails }

// TestNRGTruncateDownToCommittedWhenTruncateFails ports test 2656: a failed
// truncation is recorded as a write error and leaves pindex and pterm.
func TestNRGTruncateDownToCommittedWhenTruncateFails(t *testing.T) {
	st := stepNode(t)
	st.p.ReplaceWAL(func(w storage.WAL) storage.WAL { return truncateAlwaysFails{w} })
	replacement := storeTwoOfFirstLeader(st)

	before := st.state()
	st.live(replacement, writeFailed(errTruncateFails), tip(before.PTerm, before.PIndex))
}

// writeFailed checks that the node recorded err as its write error.
func writeFailed(err error) check {
	return func(st *stepped) {
		st.t.Helper()
		require_Error(st.t, st.state().WriteErr, err)
	}
}

// TestNRGIgnoreEntryAfterCanceledCatchup ports test 2680: an entry that
// arrives on a catchup subscription after the catchup was canceled is not
// stored.
func TestNRGIgnoreEntryAfterCanceledCatchup(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1).withEntry()

	st.live(leader.after(1, 1), catchingUp())
	canceled := st.p.CatchupSub()
	st.p.CancelCatchup()

	st.via(canceled, leader.after(0, 0), lastIndex(0))
	// Nor one that carries its leader's term, as the catchup entries of a
	// current leader do: the canceled catchup fell short of its target,
	// so its stream is no longer ours, though the entry would fit our log.
	st.via(canceled, leader.after(0, 0).inLeaderTerm(1), lastIndex(0), notCatchingUp())
}

// TestNRGLeaderCatchupHandling ports test 2684: a leader asked by a
// follower that holds only the first entry streams the rest, in order.
func TestNRGLeaderCatchupHandling(t *testing.T) {
	st := stepNode(t)
	for i := range uint64(3) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).withEntry())
	}
	st.expect(lastIndex(3))
	st.p.SwitchToLeader()

	stream := st.c.watch("$TEST", 16)
	st.p.CatchupFollower(ackSpec{Term: 1, Index: 1, Reply: "$TEST"})

	for _, wantIndex := range []uint64{1, 2} {
		ae := decodeAE(t, require_ChanRead(t, stream, 5*time.Second))
		require_Equal(t, ae.PTerm, 1)
		require_Equal(t, ae.PIndex, wantIndex)
	}
}

// TestNRGNewEntriesFromOldLeaderResetsWALDuringCatchup ports test 2685:
// live entries of an old leader during a catchup neither restart the
// catchup with that leader nor reset the log; the catchup carries on.
func TestNRGNewEntriesFromOldLeaderResetsWALDuringCatchup(t *testing.T) {
	st := stepNode(t)
	current := aeFrom(nats0, 20).inLeaderTerm(20).withEntry()
	forked := aeFrom(nats0, 1).withEntry()
	catchupToTwenty := catchupUpTo(20, 1)

	first := current.after(0, 0)
	st.live(current.after(20, 1), catchupToTwenty)
	inbox := st.p.CatchupSub()
	st.via(inbox, first, tip(20, 1))

	// Make the catchup look stalled, which used to restart it with the
	// old leader: its entry changes nothing, and our answer carries our
	// higher term, so that it steps down.
	answers := st.repliesOn("$TEST")
	require_NoError(t, st.p.SetCatchupProgress(first.PIndex+1, time.Time{}))
	st.live(forked.after(0, 0).answerTo("$TEST"), tip(20, 1), catchupToTwenty)
	ar, _ := answers.next()
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 1)
	require_Equal(t, ar.Term, 20)

	// This one used to reset the log.
	st.live(forked.after(1, 1), tip(20, 1), catchupToTwenty)

	// The catchup goes on undisturbed, and an entry of it still in flight
	// is taken once it ended.
	st.via(inbox, current.after(20, 1), tip(20, 2), notCatchingUp())
	st.via(inbox, current.after(20, 2), tip(20, 3))
}

// TestNRGParallelCatchupRollback ports test 2691: a catchup entry that
// arrives again after the log moved past it (two catchups in parallel)
// must not roll the log back.
func TestNRGParallelCatchupRollback(t *testing.T) {
	st := stepNode(t)
	answers := st.repliesOn("$TEST")
	entry := aeFrom(nats0, 1).inLeaderTerm(1).withEntry()
	first, second := entry.after(0, 0), entry.after(1, 1)
	heartbeat := aeFrom(nats0, 1).after(1, 2).answerTo("$TEST")

	st.live(second, lastIndex(0), catchupUpTo(second.PTerm, second.PIndex))
	inbox := st.p.CatchupSub()
	st.via(inbox, first, lastIndex(1))
	st.via(inbox, second, lastIndex(2), notCatchingUp())

	// The heartbeat is acknowledged, so the leader can commit.
	st.live(heartbeat)
	ar, _ := answers.next()
	require_True(t, ar.Success)
	require_Equal(t, ar.Term, heartbeat.Term)
	require_Equal(t, ar.Index, heartbeat.PIndex)

	// The first entry again, from a parallel catchup: nothing may be
	// truncated, our log is ahead.
	st.via(inbox, first, lastIndex(2))
}

// TestNRGNoLogResetOnCorruptedSendToFollower ports test 2695: a leader
// whose snapshot turns out corrupt when a follower needs it steps down
// instead of wiping its log.
func TestNRGNoLogResetOnCorruptedSendToFollower(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{hosts: 2})
	follower := rg.nonLeader()
	lp, fp := probeOf(leader.node()), probeOf(follower.node())

	// One append entry per proposal: each waits for the previous one to
	// be applied by the whole group.
	var total int64
	for delta := range int64(10) {
		total += delta + 1
		leader.proposeDelta(delta + 1)
		rg.waitOnTotal(t, total)
	}
	rg.waitOnTotal(t, 55)
	leader.snapshot(t)
	require_Equal(t, lp.WALState().Entries, 0)

	// A follower with an empty log can only be sent the snapshot, whose
	// file is then cut short by a byte.
	require_NoError(t, fp.WAL().Truncate(0))
	follower.stop()
	info, err := os.Stat(lp.SnapFile())
	require_NoError(t, err)
	require_NoError(t, os.Truncate(lp.SnapFile(), info.Size()-1))

	// The leader cannot send it and steps down (the reference waits for
	// its cluster to settle here); the lead-change signal that says so
	// must be news, and the leader must keep its log.
	leader.forgetLeadChanges()
	follower.restart()
	leader.waitNotLeader(t)
	require_NotEqual(t, lp.WALState().LastIndex, 0)
}

// storeThreeOnDisk is a stepped node with a file WAL, bootstrapped bare as
// the reference's file-store setups, that stored three entries of nats0;
// the third commits the second.
func storeThreeOnDisk(t *testing.T) (*stepped, []aeDraft) {
	t.Helper()
	st := createRaftCluster(t, "R3S", 3).stepNode(nodeSetup{onDisk: true, bareBootstrap: true})
	leader := aeFrom(nats0, 1).withEntry()
	drafts := []aeDraft{leader.after(0, 0), leader.after(1, 1), leader.after(1, 2).committing(2)}
	for i, d := range drafts {
		st.live(d, lastIndex(uint64(i+1)))
	}
	return st, drafts
}

// TestNRGTruncateLogWithMisalignedSnapshotGap ports test 2696: on restart,
// a log that starts past the entry after the snapshot (a gap) is truncated
// back to the snapshot, and the missing entries can be stored again.
func TestNRGTruncateLogWithMisalignedSnapshotGap(t *testing.T) {
	st, drafts := storeThreeOnDisk(t)
	st.applied(1)
	st.snapshot(logSpans(2, 3))

	// Compacted further, the log no longer lines up with the snapshot.
	require_NoError(t, st.p.WAL().Compact(3))
	st.expect(logSpans(3, 3))

	// We cannot go on with entries missing: the log is truncated.
	st.restart()
	st.expect(logHolds(0), logSpans(2, 1), lastIndex(1))

	for i, d := range drafts[1:] {
		st.live(d, lastIndex(uint64(i+2)))
	}
}

// TestNRGTruncateLogWithMissingSnapshot ports test 2697: on restart, a log
// compacted without a snapshot to cover the compacted entries is reset.
func TestNRGTruncateLogWithMissingSnapshot(t *testing.T) {
	st, _ := storeThreeOnDisk(t)

	// Compacted as a snapshot would, without installing one.
	require_NoError(t, st.p.WAL().Compact(2))
	st.expect(logSpans(2, 3))

	// No snapshot covers the missing entries: the log is reset. (The
	// reference's empty store reports first and last sequence 0; an empty
	// raftport WAL whose next index is 1 reports first 1, last 0.)
	st.restart()
	st.expect(logHolds(0), logSpans(1, 0), lastIndex(0))
}

// TestNRGHeartbeatOnLeaderChange ports test 2632: after each leader
// restart the group keeps making progress, the restarted member (with an
// empty memory log) catching up each time.
func TestNRGHeartbeatOnLeaderChange(t *testing.T) {
	_, rg := startAdders(t, groupSpec{memory: true})
	for round := range int64(10) {
		leader := rg.waitOnLeader()
		require_NotNil(t, leader)
		// Each round adds exactly one.
		leader.proposeDeltas(22, -11, -10)
		rg.waitOnTotal(t, round+1)
		leader.stop()
		leader.restart()
	}
	require_NotNil(t, rg.waitOnLeader())
}

// TestCatchupFlowControlAndStall checks the leader side of a catchup
// beyond the reference tests: it keeps at most 2 MiB unacknowledged, sends
// more as the follower acknowledges, and gives up on a follower that stops
// acknowledging.
func TestCatchupFlowControlAndStall(t *testing.T) {
	// A stall timeout (half the minimum election timeout) long enough that
	// only the deliberate silence below can trip it.
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 2*time.Second, 4*time.Second
	st := createRaftClusterWithTiming(t, "R3S", 3, tm).stepNode(nodeSetup{})

	const entries, entrySize, window = 30, 100 * 1024, 2 * 1024 * 1024
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, entrySize)}
	for i := range uint64(entries) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).carrying(big))
	}
	st.expect(lastIndex(entries))
	st.p.SwitchToLeader()
	last := st.state().PIndex

	stream := st.c.watch("$TEST", 2*entries)
	quiet := &replies{st: st, ch: stream}

	// A follower with an empty log asks to be caught up.
	st.p.CatchupFollower(ackSpec{Term: 0, Index: 0, Peer: nats1, Reply: "$TEST"})

	// The leader fills the window and stops: everything but the last
	// message fits in 2 MiB, the last one crossed it.
	var first []*message
	sent := 0
	for sent <= window {
		msg := require_ChanRead(t, stream, 5*time.Second)
		first = append(first, msg)
		sent += len(msg.Data)
	}
	require_True(t, len(first) > 1)
	require_LessThan(t, uint64(len(first)), last)
	require_True(t, sent-len(first[len(first)-1].Data) <= window)
	for i, msg := range first {
		require_Equal(t, decodeAE(t, msg).PIndex, uint64(i))
	}
	// Nothing more until the follower acknowledges.
	quiet.none()
	require_Equal(t, len(st.p.CatchupFollowers()), 1)

	// Acknowledging the first entry frees its room: exactly one more.
	st.ack(ackFrom(nats1, 1, 1, true))
	require_Equal(t, decodeAE(t, require_ChanRead(t, stream, 5*time.Second)).PIndex, uint64(len(first)))
	quiet.none()

	// Silence: the leader gives up on the follower after the stall timeout.
	eventually(t, holds("no catchup running", func() bool { return len(st.p.CatchupFollowers()) == 0 }))
	quiet.none()
}

// TestFollowerCatchupStallRequestsAgain checks the follower side of stall
// detection beyond the reference tests: live entries are ignored while a
// catchup makes progress, and once it has made none for the stall timeout
// the next live entry makes the follower ask again on a fresh inbox.
func TestFollowerCatchupStallRequestsAgain(t *testing.T) {
	st := stepNode(t)
	answers := st.repliesOn("$TEST")
	live := aeFrom(nats0, 1).after(1, 1).withEntry().answerTo("$TEST")

	// Missing the first entry starts a catchup.
	st.live(live)
	ar, msg := answers.next()
	require_False(t, ar.Success)
	onCatchupInbox(t, msg)
	firstInbox, firstSub := msg.Reply, st.p.CatchupSub()

	// While the catchup is fresh, live entries are dropped unanswered.
	st.live(live)
	answers.none()

	// No progress for longer than the stall timeout: ask again.
	require_NoError(t, st.p.SetCatchupProgress(0, time.Now().Add(-time.Hour)))
	st.live(live, lastIndex(0))
	ar, msg = answers.next()
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 0)
	onCatchupInbox(t, msg)
	require_NotEqual(t, msg.Reply, firstInbox)
	require_True(t, st.p.CatchupSub() != firstSub)
}
