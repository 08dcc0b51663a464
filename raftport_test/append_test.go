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

// processAE delivers msg to the node on via, as the reference tests call
// n.processAppendEntry(ae, sub).
func processAE(t *testing.T, p *raftport.Probe, msg *raftport.AppendEntryMsg, via raftport.Sub) {
	t.Helper()
	require_NoError(t, p.ProcessAppendEntry(msg, via))
}

// walMsgs is the number of entries in the node's log (the reference's
// n.wal.State().Msgs).
func walMsgs(p *raftport.Probe) uint64 { return p.WALState().Entries }

// storedLeader returns the leader recorded in the log entry at index.
func storedLeader(t *testing.T, p *raftport.Probe, index uint64) string {
	t.Helper()
	spec, err := p.LoadEntry(index)
	require_NoError(t, err)
	return spec.Leader
}

// requireCatchup returns the catchup under way, failing when there is none.
func requireCatchup(t *testing.T, p *raftport.Probe) raftport.CatchupView {
	t.Helper()
	cv, ok := p.Catchup()
	if !ok {
		t.Fatalf("expected the node to be catching up")
	}
	return cv
}

func requireNoCatchup(t *testing.T, p *raftport.Probe) {
	t.Helper()
	if _, ok := p.Catchup(); ok {
		t.Fatalf("expected the node not to be catching up")
	}
}

// TestNRGWALEntryWithoutQuorumMustTruncate ports test 2640: an entry only
// the old leader stored (it died before sending it) is truncated once it
// rejoins, whether or not the new leader wrote something else there.
func TestNRGWALEntryWithoutQuorumMustTruncate(t *testing.T) {
	tests := []struct {
		title  string
		modify func(rg smGroup)
	}{
		// The logs are equal, the entry only needs to go (no change).
		{title: "equal"},
		// The logs diverged, the entry must be replaced.
		{title: "diverged", modify: func(rg smGroup) {
			rg.leader().(*stateAdder).proposeDelta(11)
		}},
	}

	for _, test := range tests {
		t.Run(test.title, func(t *testing.T) {
			c := createRaftCluster(t, "R3S", 3)
			defer c.shutdown()

			rg := c.createRaftGroup("TEST", 3, newStateAdder)
			rg.waitOnLeader()

			// The leader stores an entry, then dies before proposing it.
			leader := rg.leader()
			p := raftport.NewProbe(leader.node())
			p.Lock()
			ae, err := p.BuildAppendEntryLocked(sampleEntries())
			if err == nil {
				err = p.StoreToWALLocked(ae)
			}
			p.Unlock()
			require_NoError(t, err)

			leader.stop()
			rg.waitOnLeader()

			if test.modify != nil {
				test.modify(rg)
			}

			leader.restart()

			// Every log must end up the same, the extra entry gone.
			checkFor(t, 5*time.Second, 200*time.Millisecond, func() error {
				var expected []raftport.AppendEntrySpec
				for _, sm := range rg {
					sp := raftport.NewProbe(sm.node())
					state := sp.WALState()
					if len(expected) > 0 && int(state.LastIndex-state.FirstIndex+1) != len(expected) {
						return fmt.Errorf("WAL is different: too many entries")
					}
					for index := state.FirstIndex; index <= state.LastIndex; index++ {
						spec, err := sp.LoadEntry(index)
						if err != nil {
							return err
						}
						// lterm differs when one node caught up another.
						spec.LTerm = 0
						seq := int(index)
						if len(expected) < seq {
							expected = append(expected, spec)
						} else if !reflect.DeepEqual(expected[seq-1], spec) {
							return fmt.Errorf("WAL is different: stored AEs differ")
						}
					}
				}
				return nil
			})
		})
	}
}

// TestNRGTermNoDecreaseAfterWALReset ports test 2641: a follower takes
// the higher term of an append entry and keeps it against an older one,
// even after its log was reset.
func TestNRGTermNoDecreaseAfterWALReset(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()

	leader := rg.leader().node()
	lp := raftport.NewProbe(leader)
	lp.SetTerm(20)

	lp.Lock()
	ae, err := lp.BuildAppendEntryLocked(sampleEntries())
	lp.Unlock()
	require_NoError(t, err)

	for _, f := range rg {
		if f.node().ID() == leader.ID() {
			continue
		}
		fp := raftport.NewProbe(f.node())
		processAE(t, fp, ae, fp.AESub())
		require_Equal(t, fp.Replication().Term, 20)
	}

	// The same entry from an old term or leader.
	old := ae.Spec()
	old.Term = 3
	aeOld := encode(t, old)
	for _, f := range rg {
		if f.node().ID() == leader.ID() {
			continue
		}
		fp := raftport.NewProbe(f.node())
		processAE(t, fp, aeOld, fp.AESub())
		require_Equal(t, fp.Replication().Term, 20)

		fp.ResetWAL()
		processAE(t, fp, aeOld, fp.AESub())
		require_Equal(t, fp.Replication().Term, 20)
	}
}

// TestNRGPendingAppendEntryCacheInvalidation ports test 2642: entries
// cached at indexes the log has not reached must never be applied; a new
// entry replaces or drops the stale cache slot.
func TestNRGPendingAppendEntryCacheInvalidation(t *testing.T) {
	for _, test := range []struct {
		title   string
		entries int
	}{
		{title: "empty", entries: 1},
		{title: "at limit", entries: raftport.PendingCacheDropThreshold},
		{title: "full", entries: raftport.PendingCacheDropThreshold + 1},
	} {
		t.Run(test.title, func(t *testing.T) {
			// Filling 20,001 cache entries on every node under -race holds
			// the node locks for a while; at the steady timing no election
			// starts meanwhile and takes the final proposal with it.
			c := createRaftClusterWithTiming(t, "R3S", 3, steadyTiming())
			defer c.shutdown()

			rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
			l := campaignAndWaitOnLeader(t, rg)

			l.(*stateAdder).proposeDelta(1)
			rg.waitOnTotal(t, 1)

			// Fill the cache past every node's log with entries that
			// would break the adder if they were ever applied.
			rg.lockAll()
			for _, sm := range rg {
				p := raftport.NewProbe(sm.node())
				pindex := p.ReplicationLocked().PIndex
				for i := range test.entries {
					p.CachePendingLocked(pindex+uint64(1+i), raftport.AppendEntrySpec{})
				}
			}
			rg.unlockAll()

			l.(*stateAdder).proposeDelta(1)
			rg.waitOnTotal(t, 2)
		})
	}
}

// TestNRGCatchupDoesNotTruncateUncommittedEntriesWithQuorum ports test
// 2643: after a leader change a follower truncates only the entry the new
// leader does not have, and catches up from there.
func TestNRGCatchupDoesNotTruncateUncommittedEntriesWithQuorum(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()

	// Timeline, for the first leader.
	aeInitial := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	aeUncommitted := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeNoQuorum := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries})

	// Timeline, after the leader change.
	aeMissed := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries})
	aeCatchupTrigger := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 2, PIndex: 3, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 2, PTerm: 2, PIndex: 4})
	aeHeartbeat3 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 4, PTerm: 2, PIndex: 4})

	processAE(t, p, aeInitial, p.AESub())
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)

	// An entry that has a quorum, though we do not know it yet.
	processAE(t, p, aeUncommitted, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)

	// An entry that has no quorum, though we do not know it yet.
	processAE(t, p, aeNoQuorum, p.AESub())
	require_Equal(t, walMsgs(p), 3)
	require_Equal(t, storedLeader(t, p, 3), nats0)

	// A new leader, and we missed one of its entries: the last one goes.
	processAE(t, p, aeCatchupTrigger, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	requireNoCatchup(t, p)

	// A heartbeat makes us catch up.
	processAE(t, p, aeHeartbeat2, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, p.Replication().Commit, 1) // we missed an entry
	cv := requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 1)
	require_Equal(t, cv.PIndex, 2)

	// The new leader's entry at the no-quorum index is stored.
	processAE(t, p, aeMissed, p.CatchupSub())
	require_Equal(t, walMsgs(p), 3)
	requireCatchup(t, p)

	// Then the entry that triggered the catchup.
	processAE(t, p, aeCatchupTrigger, p.CatchupSub())
	require_Equal(t, walMsgs(p), 4)
	requireCatchup(t, p)
	require_Equal(t, storedLeader(t, p, 4), nats1)

	// A heartbeat commits everything and ends the catchup.
	processAE(t, p, aeHeartbeat3, p.AESub())
	require_Equal(t, p.Replication().Commit, 4)
	requireNoCatchup(t, p)
}

// TestNRGCatchupCanTruncateMultipleEntriesWithoutQuorum ports test 2644:
// a catchup may truncate again when the new leader's log differs at more
// than one uncommitted index.
func TestNRGCatchupCanTruncateMultipleEntriesWithoutQuorum(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()

	// Timeline, for the first leader.
	aeInitial := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	aeNoQuorum1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeNoQuorum2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries})

	// Timeline, after the leader change.
	aeMissed1 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeMissed2 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 2, PIndex: 2, Entries: entries})
	aeCatchupTrigger := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 2, PIndex: 3, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 2, PTerm: 2, PIndex: 4})
	aeHeartbeat3 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 4, PTerm: 2, PIndex: 4})

	processAE(t, p, aeInitial, p.AESub())
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)

	// Two entries without a quorum, though we do not know it yet.
	processAE(t, p, aeNoQuorum1, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)

	processAE(t, p, aeNoQuorum2, p.AESub())
	require_Equal(t, walMsgs(p), 3)
	require_Equal(t, storedLeader(t, p, 3), nats0)

	// A new leader, and we missed its entries: the last one goes.
	processAE(t, p, aeCatchupTrigger, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	requireNoCatchup(t, p)

	processAE(t, p, aeHeartbeat2, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, p.Replication().Commit, 1)
	cv := requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 1)
	require_Equal(t, cv.PIndex, 2)

	// The new leader differs at the other no-quorum index too.
	processAE(t, p, aeMissed2, p.CatchupSub())
	require_Equal(t, walMsgs(p), 1)
	requireNoCatchup(t, p)

	processAE(t, p, aeHeartbeat2, p.AESub())
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, p.Replication().Commit, 1)
	cv = requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 1)
	require_Equal(t, cv.PIndex, 1)

	processAE(t, p, aeMissed1, p.CatchupSub())
	require_Equal(t, walMsgs(p), 2)
	requireCatchup(t, p)

	processAE(t, p, aeMissed2, p.CatchupSub())
	require_Equal(t, walMsgs(p), 3)
	requireCatchup(t, p)

	processAE(t, p, aeCatchupTrigger, p.CatchupSub())
	require_Equal(t, walMsgs(p), 4)
	requireCatchup(t, p)
	require_Equal(t, storedLeader(t, p, 4), nats1)

	processAE(t, p, aeHeartbeat3, p.AESub())
	require_Equal(t, p.Replication().Commit, 4)
	requireNoCatchup(t, p)
}

// TestNRGCatchupDoesNotTruncateCommittedEntriesDuringRedelivery ports test
// 2645: a redelivered old entry must not truncate committed entries.
func TestNRGCatchupDoesNotTruncateCommittedEntriesDuringRedelivery(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeHeartbeat1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3})

	processAE(t, p, aeMsg1, p.AESub())
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	processAE(t, p, aeMsg2, p.AESub())
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)

	processAE(t, p, aeHeartbeat1, p.AESub())
	require_Equal(t, p.Replication().Commit, 2)

	processAE(t, p, aeMsg3, p.AESub())
	require_Equal(t, walMsgs(p), 3)
	require_Equal(t, storedLeader(t, p, 3), nats0)

	// A redelivery of the first entry: truncating would lower our commit.
	processAE(t, p, aeMsg1, p.AESub())
	require_Equal(t, p.Replication().Commit, 2)

	processAE(t, p, aeHeartbeat2, p.AESub())
	require_Equal(t, p.Replication().Commit, 3)
}

// TestNRGCatchupFromNewLeaderWithIncorrectPterm ports test 2646: a first
// catchup entry whose pterm disagrees with ours ends the catchup after
// taking the leader's pterm, and the next catchup then succeeds.
func TestNRGCatchupFromNewLeaderWithIncorrectPterm(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})

	// A heartbeat makes us catch up.
	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 0)
	cv := requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 0)
	require_Equal(t, cv.PIndex, 0)

	// The first catchup entry has another pterm: stop, to retry with it.
	processAE(t, p, aeMsg, p.CatchupSub())
	requireNoCatchup(t, p)
	r := p.Replication()
	require_Equal(t, r.PTerm, 1)
	require_Equal(t, r.PIndex, 0)

	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 0)
	cv = requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 1)
	require_Equal(t, cv.PIndex, 0)

	// Now the entry fits and is stored.
	processAE(t, p, aeMsg, p.CatchupSub())
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)
}

// TestNRGAEFromOldLeader ports test 2623: an append entry of an outdated
// term is refused, without resetting the log (which would have led to a
// catchup).
func TestNRGAEFromOldLeader(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	nc := c.client()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()

	// Watch for catchup streams.
	ch, sub := chanSubscribe(t, nc, transport.CatchupInbox(">"), 16)
	defer sub.Unsubscribe()

	// Move to the next term, so that term 1 is outdated. (The reference
	// expects term 2; a split vote in the first election, which the fast
	// test timings make more likely, starts us one term later.)
	old := rg.leader().node()
	firstTerm := old.Term()
	require_NoError(t, old.StepDown())
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if l := rg.leader(); l == nil || l.node().Term() <= firstTerm {
			return errors.New("no leader of the next term yet")
		}
		return nil
	})
	require_Equal(t, old.Term(), firstTerm+1)
	leader := rg.leader().node()

	// An empty entry of term 1 that looks like it comes from the leader.
	payload := encode(t, raftport.AppendEntrySpec{Term: 1, PIndex: 0, Leader: leader.ID()}).Bytes()
	resp, err := request(nc, raftport.NewProbe(leader).AppendSubject(), payload, time.Second)
	require_NoError(t, err)

	ar, err := raftport.DecodeAppendEntryResponse(resp, "")
	require_NoError(t, err)
	require_False(t, ar.Success)

	// No reset happened, so no catchup follows.
	require_NoChanRead(t, ch, 40*fastTiming().HeartbeatInterval)
}

// TestNRGNoResetOnAppendEntryResponse ports test 2637: a refusal carrying
// a higher term makes the leader step down but must not wipe its log.
func TestNRGNoResetOnAppendEntryResponse(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	nc := c.client()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()
	waitOnAllCurrent(t, rg)

	leader := rg.leader().node()
	follower := rg.nonLeader().node()
	lsm := rg.leader().(*stateAdder)
	isLeader := require_ChanRead(t, lsm.lch, 5*time.Second)
	require_True(t, isLeader)

	// Answer every append entry that carries entries as a refusal with a
	// higher term, which used to make the leader reset its whole log.
	sub, err := nc.Subscribe(transport.AppendSubject("TEST"), func(_, reply string, data []byte) {
		ae, err := raftport.DecodeAppendEntry(data)
		if err != nil || len(ae.Entries) == 0 {
			return
		}
		ar := raftport.ResponseSpec{Term: ae.Term + 1, Index: ae.Commit, Peer: follower.ID(), Success: false}
		_ = nc.Publish(reply, "", raftport.EncodeAppendEntryResponse(ar))
	})
	require_NoError(t, err)
	defer sub.Unsubscribe()

	waitOnAllCurrent(t, rg)

	// Keep the followers from answering.
	_, unlockFollowers := rg.lockFollowers()

	lsm.proposeDelta(5)

	// The leader steps down.
	checkFor(t, 10*time.Second, 0, func() error {
		if isLeader = require_ChanRead(t, lsm.lch, 5*time.Second); isLeader {
			return errors.New("node is still leader")
		}
		return nil
	})

	unlockFollowers()

	// It stepped down with its log intact.
	rg.lockAll()
	defer rg.unlockAll()
	lp := raftport.NewProbe(leader)
	r := lp.ReplicationLocked()
	require_Equal(t, r.State, raftport.Follower)
	require_NotEqual(t, r.PTerm, 0)
	require_NotEqual(t, r.PIndex, 0)
}

// TestStoreToWALRejectsMisplacedEntry checks storeToWAL's sanity check: an
// entry that would not land right after its previous entry means the
// node's view and its log disagree, so the log is reset and the store
// fails.
func TestStoreToWALRejectsMisplacedEntry(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	first := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: 0, PIndex: 0, Entries: sampleEntries()})
	require_NoError(t, p.StoreToWAL(first))
	require_Equal(t, walMsgs(p), 1)

	// Claims to follow index 5, but would be stored at 2.
	misplaced := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: 1, PIndex: 5, Entries: sampleEntries()})
	require_Error(t, p.StoreToWAL(misplaced))
	require_Equal(t, walMsgs(p), 0)
	r := p.Replication()
	require_Equal(t, r.PIndex, 0)
	require_Equal(t, r.PTerm, 0)
}

// TestTruncateBelowCompactedStart checks that truncating to an index the
// log was already compacted past empties the log and continues after that
// index, as the reference's stores do, instead of failing.
func TestTruncateBelowCompactedStart(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	for i := range 3 {
		ae := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: uint64(min(i, 1)), PIndex: uint64(i), Entries: sampleEntries()})
		processAE(t, p, ae, p.AESub())
	}
	require_NoError(t, p.WAL().Compact(3))

	p.TruncateWAL(1, 1)
	r := p.Replication()
	require_NoError(t, r.WriteErr)
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 1)
	state := p.WALState()
	require_Equal(t, state.Entries, 0)
	require_Equal(t, state.FirstIndex, 2)
	require_Equal(t, state.LastIndex, 1)

	// The log goes on right after the truncation point.
	next := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: 1, PIndex: 1, Entries: sampleEntries()})
	processAE(t, p, next, p.AESub())
	require_Equal(t, p.Replication().PIndex, 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)
}
