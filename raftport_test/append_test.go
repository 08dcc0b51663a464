package raftport_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// storedLog reads a node's whole log, with the lterm each entry carried
// left out: it differs when one member caught another up.
func storedLog(n raftport.RaftNode) (first uint64, log []aeSpec, err error) {
	p := probeOf(n)
	state := p.WALState()
	for index := state.FirstIndex; index <= state.LastIndex; index++ {
		spec, err := p.LoadEntry(index)
		if err != nil {
			return 0, nil, fmt.Errorf("entry %d: %w", index, err)
		}
		spec.LTerm = 0
		log = append(log, spec)
	}
	return state.FirstIndex, log, nil
}

// logsAgree is a wait step: every member stores the same entries at the
// same indexes.
func logsAgree[M member](g group[M]) func() error {
	return func() error {
		first, want, err := storedLog(g[0].node())
		if err != nil {
			return err
		}
		for _, sm := range g[1:] {
			from, log, err := storedLog(sm.node())
			switch {
			case err != nil:
				return err
			case len(log) != len(want):
				return fmt.Errorf("WAL is different: %d entries, not %d", len(log), len(want))
			case from != first || !reflect.DeepEqual(log, want):
				return errors.New("WAL is different: stored AEs differ")
			}
		}
		return nil
	}
}

// TestNRGWALEntryWithoutQuorumMustTruncate ports test 2640: an entry only
// the old leader stored (it died before sending it) is truncated once it
// rejoins, whether or not the new leader wrote something else there.
func TestNRGWALEntryWithoutQuorumMustTruncate(t *testing.T) {
	eitherWay(t, "equal", "diverged", func(t *testing.T, diverge bool) {
		_, rg, leader := electedAdders(t, groupSpec{})

		// The leader stores an entry, then dies before proposing it.
		lp := probeOf(leader.node())
		lp.Lock()
		ae, err := lp.BuildAppendEntryLocked(sampleEntries())
		if err == nil {
			err = lp.StoreToWALLocked(ae)
		}
		lp.Unlock()
		require_NoError(t, err)
		leader.stop()
		rg.waitOnLeader()

		// Diverged: the new leader writes something else at that index;
		// equal: the entry only needs to go.
		if diverge {
			rg.leader().proposeDelta(11)
		}
		leader.restart()

		within(t, 5*time.Second, logsAgree(rg))
	})
}

// TestNRGTermNoDecreaseAfterWALReset ports test 2641: a follower takes
// the higher term of an append entry and keeps it against an older one,
// even after its log was reset.
func TestNRGTermNoDecreaseAfterWALReset(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{})
	lp := probeOf(leader.node())
	lp.SetTerm(20)
	lp.Lock()
	ae, err := lp.BuildAppendEntryLocked(sampleEntries())
	lp.Unlock()
	require_NoError(t, err)
	old := aeDraft(ae.Spec())
	old.Term = 3

	followers := rg.except(leader)
	deliver := func(sm *stateAdder, msg *aeMsg) {
		t.Helper()
		fp := probeOf(sm.node())
		require_NoError(t, fp.ProcessAppendEntry(msg, fp.AESub()))
		require_Equal(t, fp.Replication().Term, 20)
	}
	for _, f := range followers {
		deliver(f, ae)
	}
	// The same entry from an old term or leader, before and after a reset.
	for _, f := range followers {
		deliver(f, old.wire(t))
		probeOf(f.node()).ResetWAL()
		deliver(f, old.wire(t))
	}
}

// TestNRGPendingAppendEntryCacheInvalidation ports test 2642: entries
// cached at indexes the log has not reached must never be applied; a new
// entry replaces or drops the stale cache slot.
func TestNRGPendingAppendEntryCacheInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cached int
	}{
		{"empty", 1},
		{"at limit", limits.PendingCacheDropThreshold},
		{"full", limits.PendingCacheDropThreshold + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Filling 20,001 cache entries on every node under -race holds
			// the node locks for a while; at the steady timing no election
			// starts meanwhile and takes the final proposal with it.
			_, rg := startAdders(t, groupSpec{memory: true, timing: steadyTiming()})
			leader := campaignAndWaitOnLeader(t, rg)
			leader.proposeDelta(1)
			rg.waitOnTotal(t, 1)

			// Past every node's log, entries that would break the adder if
			// they were ever applied.
			unlock := rg.locked()
			for _, n := range rg.nodes() {
				p := probeOf(n)
				next := p.ReplicationLocked().PIndex + 1
				for index := next; index < next+uint64(tc.cached); index++ {
					p.CachePendingLocked(index, aeSpec{})
				}
			}
			unlock()

			leader.proposeDelta(1)
			rg.waitOnTotal(t, 2)
		})
	}
}

// missedNewLeadersEntry plays the start that 2643 and 2644 share: the
// first leader (nats0, term 1) commits its first entry and sends two more
// it does not commit; the next leader (nats1, term 2) sends an entry after
// one we missed, which costs us our last entry, and a heartbeat that makes
// us catch up from where our log now ends. It returns the next leader.
func missedNewLeadersEntry(st *stepped) (next aeDraft) {
	st.t.Helper()
	first := aeFrom(nats0, 1)
	st.live(first.after(0, 0).withEntry(), logHolds(1), writtenBy(1, nats0))
	st.live(first.after(1, 1).committing(1), committed(1))
	st.live(first.after(1, 1).committing(1).withEntry(), logHolds(2), writtenBy(2, nats0))
	st.live(first.after(1, 2).committing(1).withEntry(), logHolds(3), writtenBy(3, nats0))

	next = aeFrom(nats1, 2).committing(1)
	st.live(next.after(2, 3).withEntry(), logHolds(2), notCatchingUp())
	st.live(next.after(2, 4).committing(2), logHolds(2), committed(1), catchupFrom(1, 2))
	return next
}

// TestNRGCatchupDoesNotTruncateUncommittedEntriesWithQuorum ports test
// 2643: after a leader change a follower truncates only the entry the new
// leader does not have, and catches up from there.
func TestNRGCatchupDoesNotTruncateUncommittedEntriesWithQuorum(t *testing.T) {
	st := stepNode(t)
	next := missedNewLeadersEntry(st)

	// The new leader's entry at the index that had no quorum, then the
	// one that made us catch up; a heartbeat commits them and ends it.
	st.catchup(next.after(1, 2).withEntry(), logHolds(3), catchingUp())
	st.catchup(next.after(2, 3).withEntry(), logHolds(4), catchingUp(), writtenBy(4, nats1))
	st.live(next.after(2, 4).committing(4), committed(4), notCatchingUp())
}

// TestNRGCatchupCanTruncateMultipleEntriesWithoutQuorum ports test 2644:
// a catchup may truncate again when the new leader's log differs at more
// than one uncommitted index.
func TestNRGCatchupCanTruncateMultipleEntriesWithoutQuorum(t *testing.T) {
	st := stepNode(t)
	next := missedNewLeadersEntry(st)

	// The new leader differs at the other uncommitted index too: that one
	// goes as well, and the next heartbeat catches us up from before it.
	st.catchup(next.after(2, 2).withEntry(), logHolds(1), notCatchingUp())
	st.live(next.after(2, 4).committing(2), logHolds(1), committed(1), catchupFrom(1, 1))

	st.catchup(next.after(1, 1).withEntry(), logHolds(2), catchingUp())
	st.catchup(next.after(2, 2).withEntry(), logHolds(3), catchingUp())
	st.catchup(next.after(2, 3).withEntry(), logHolds(4), catchingUp(), writtenBy(4, nats1))
	st.live(next.after(2, 4).committing(4), committed(4), notCatchingUp())
}

// TestNRGCatchupDoesNotTruncateCommittedEntriesDuringRedelivery ports test
// 2645: a redelivered old entry must not truncate committed entries.
func TestNRGCatchupDoesNotTruncateCommittedEntriesDuringRedelivery(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	first := leader.after(0, 0).withEntry()

	st.live(first, logHolds(1), writtenBy(1, nats0))
	st.live(leader.after(1, 1).committing(1).withEntry(), logHolds(2), writtenBy(2, nats0))
	st.live(leader.after(1, 2).committing(2), committed(2))
	st.live(leader.after(1, 2).committing(1).withEntry(), logHolds(3), writtenBy(3, nats0))

	// A redelivery of the first entry: truncating would lower our commit.
	st.live(first, committed(2))
	st.live(leader.after(1, 3).committing(3), committed(3))
}

// TestNRGCatchupFromNewLeaderWithIncorrectPterm ports test 2646: a first
// catchup entry whose pterm disagrees with ours ends the catchup after
// taking the leader's pterm, and the next catchup then succeeds.
func TestNRGCatchupFromNewLeaderWithIncorrectPterm(t *testing.T) {
	st := stepNode(t)
	entry := aeFrom(nats0, 1).after(1, 0).withEntry()
	heartbeat := aeFrom(nats0, 1).after(1, 1).committing(1)

	st.live(heartbeat, committed(0), catchupFrom(0, 0))
	// The first catchup entry has another pterm: stop, to retry with it.
	st.catchup(entry, notCatchingUp(), tip(1, 0))

	st.live(heartbeat, committed(0), catchupFrom(1, 0))
	st.catchup(entry, logHolds(1), writtenBy(1, nats0))
	st.live(heartbeat, committed(1))
}

// TestNRGAEFromOldLeader ports test 2623: an append entry of an outdated
// term is refused, without resetting the log (which would have led to a
// catchup).
func TestNRGAEFromOldLeader(t *testing.T) {
	c, rg, first := electedAdders(t, groupSpec{memory: true})
	catchups := c.watch(transport.CatchupInbox(">"), 16)

	// Move to the next term, so that term 1 is outdated. (The reference
	// expects term 2; a split vote in the first election, which the fast
	// test timings make more likely, starts us one term later.)
	old := first.node()
	firstTerm := old.Term()
	require_NoError(t, old.StepDown())
	eventually(t, holds("a leader of the next term", func() bool {
		l := rg.leader()
		return l != nil && l.node().Term() > firstTerm
	}))
	require_Equal(t, old.Term(), firstTerm+1)
	leader := rg.leader().node()

	// An empty entry of term 1 that looks like it comes from the leader.
	outdated := aeFrom(leader.ID(), 1).wire(t).Bytes()
	resp, err := request(c.client(), probeOf(leader).AppendSubject(), outdated, time.Second)
	require_NoError(t, err)
	ar, err := codec.DecodeAppendEntryResponse(resp, "")
	require_NoError(t, err)
	require_False(t, ar.Success)

	// No reset happened, so no catchup follows.
	require_NoChanRead(t, catchups, 40*fastTiming().HeartbeatInterval)
}

// current is a node check: the node has a leader and is caught up.
func current(n raftport.RaftNode) error {
	if !n.Current() {
		return errors.New("not current")
	}
	return nil
}

// TestNRGNoResetOnAppendEntryResponse ports test 2637: a refusal carrying
// a higher term makes the leader step down but must not wipe its log.
func TestNRGNoResetOnAppendEntryResponse(t *testing.T) {
	c, rg, leaderSM := electedAdders(t, groupSpec{})
	eventually(t, rg.everyNode(current))
	leader, follower := leaderSM.node(), rg.nonLeader().node()
	require_True(t, require_ChanRead(t, leaderSM.lch, 5*time.Second))

	// Every append entry that carries entries gets a refusal with a
	// higher term, which used to make the leader reset its whole log.
	nc := c.client()
	sub, err := nc.Subscribe(transport.AppendSubject("TEST"), func(_, reply string, data []byte) {
		ae, err := codec.DecodeAppendEntry(data)
		if err != nil || len(ae.Entries) == 0 {
			return
		}
		refusal := ackFrom(follower.ID(), ae.Term+1, ae.Commit, false)
		_ = nc.Publish(reply, "", codec.EncodeAppendEntryResponse(refusal))
	})
	require_NoError(t, err)
	defer sub.Unsubscribe()
	eventually(t, rg.everyNode(current))

	// With the followers kept from answering, a proposal draws only
	// refusals, and the leader steps down.
	_, unlockFollowers := rg.lockFollowers()
	leaderSM.proposeDelta(5)
	leaderSM.waitNotLeader(t)
	unlockFollowers()

	// It stepped down with its log intact.
	unlock := rg.locked()
	defer unlock()
	r := probeOf(leader).ReplicationLocked()
	require_Equal(t, r.State, raftport.Follower)
	require_NotEqual(t, r.PTerm, 0)
	require_NotEqual(t, r.PIndex, 0)
}

// TestStoreToWALRejectsMisplacedEntry checks storeToWAL's sanity check: an
// entry that would not land right after its previous entry means the
// node's view and its log disagree, so the log is reset and the store
// fails.
func TestStoreToWALRejectsMisplacedEntry(t *testing.T) {
	st := stepNode(t)
	require_NoError(t, st.p.StoreToWAL(aeFrom(nats0, 1).after(0, 0).withEntry().wire(t)))
	st.expect(logHolds(1))

	// Claims to follow index 5, but would be stored at 2.
	require_Error(t, st.p.StoreToWAL(aeFrom(nats0, 1).after(1, 5).withEntry().wire(t)))
	st.expect(logHolds(0), tip(0, 0))
}

// TestTruncateBelowCompactedStart checks that truncating to an index the
// log was already compacted past empties the log and continues after that
// index, as the reference's stores do, instead of failing.
func TestTruncateBelowCompactedStart(t *testing.T) {
	st := stepNode(t)
	for i := range uint64(3) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).withEntry())
	}
	require_NoError(t, st.p.WAL().Compact(3))

	st.p.TruncateWAL(1, 1)
	require_NoError(t, st.state().WriteErr)
	st.expect(tip(1, 1), logHolds(0), logSpans(2, 1))

	// The log goes on right after the truncation point.
	st.live(aeFrom(nats0, 1).after(1, 1).withEntry(), lastIndex(2), writtenBy(2, nats0))
}
