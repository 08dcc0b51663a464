package raftport_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// TestNRGRejectNewAppendEntryFromPreviousLeader ports test 2668: after
// voting in a higher term a follower refuses a new entry of the old one.
func TestNRGRejectNewAppendEntryFromPreviousLeader(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})

	// Accepted: it is of our term.
	p.SetTerm(1)
	processAE(t, p, aeMsg1, p.AESub())
	r := p.Replication()
	require_Equal(t, r.PTerm, 1)
	require_Equal(t, r.PIndex, 1)

	// We vote for a new leader in a new term.
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 5, LastTerm: 1, LastIndex: 2})

	// An entry of the previous term is refused.
	processAE(t, p, aeMsg2, p.AESub())
	r = p.Replication()
	require_Equal(t, r.PTerm, 1)
	require_Equal(t, r.PIndex, 1)
}

// TestNRGRejectAppendEntryDuringCatchupFromPreviousLeader ports test 2669:
// once we voted in a higher term, catchup entries of an old leader are
// refused when they carry that leader's term (lterm); a leader too old to
// send lterm is still accepted for compatibility.
func TestNRGRejectAppendEntryDuringCatchupFromPreviousLeader(t *testing.T) {
	test := func(t *testing.T, isCatchingUp, oldBehavior bool) {
		_, p, cleanup := initSingleMemRaftNode(t)
		defer cleanup()

		entries := sampleEntries()
		spec1 := raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries}
		spec2 := raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries}
		aeMsg2 := encode(t, spec2)

		// The second entry makes us catch up from the start.
		p.SetTerm(1)
		processAE(t, p, aeMsg2, p.AESub())
		cv := requireCatchup(t, p)
		require_Equal(t, cv.PTerm, 0)
		require_Equal(t, cv.PIndex, 0)
		require_Equal(t, cv.CTerm, spec2.PTerm)
		require_Equal(t, cv.CIndex, spec2.PIndex)

		// A current leader sends its term with catchup entries.
		if !oldBehavior {
			spec1.LTerm = 1
			spec2.LTerm = 1
		}
		aeMsg1 := encode(t, spec1)
		aeMsg2 = encode(t, spec2)

		catchup := p.HoldCatchup()
		processAE(t, p, aeMsg1, catchup.Sub())
		r := p.Replication()
		require_Equal(t, r.PTerm, 1)
		require_Equal(t, r.PIndex, 1)

		// We vote for a new leader in a new term.
		p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 5, LastTerm: 1, LastIndex: 2})

		// Voting cancels the catchup; put it back to see what a catchup
		// entry does after the term moved on.
		nsub := p.AESub()
		if isCatchingUp {
			p.RestoreCatchup(catchup)
			nsub = catchup.Sub()
		}

		processAE(t, p, aeMsg2, nsub)
		r = p.Replication()
		require_Equal(t, r.PTerm, 1)

		// Only a catchup from an old server (no lterm) is still accepted.
		if isCatchingUp && oldBehavior {
			require_Equal(t, r.PIndex, 2)
		} else {
			require_Equal(t, r.PIndex, 1)
		}
	}

	for _, isCatchingUp := range []bool{false, true} {
		for _, oldBehavior := range []bool{false, true} {
			title := "new-entry"
			if isCatchingUp {
				title = "catchup"
			}
			if oldBehavior {
				title += "-backward-compatible"
			}
			t.Run(title, func(t *testing.T) { test(t, isCatchingUp, oldBehavior) })
		}
	}
}

// TestNRGDontRejectAppendEntryFromReplay ports test 2670: entries a leader
// stored alone are replayed (after an optional restart) and still reach a
// follower that comes back.
func TestNRGDontRejectAppendEntryFromReplay(t *testing.T) {
	test := func(t *testing.T, restart bool) {
		c := createRaftCluster(t, "R3S", 3)
		defer c.shutdown()

		rg := c.createRaftGroup("TEST", 3, newStateAdder)
		rg.waitOnLeader()

		// Stop every member but the leader.
		l := rg.leader().(*stateAdder)
		rs := rg.nonLeader()
		for _, sm := range rg {
			if sm != l {
				sm.stop()
			}
		}

		// The leader stores a new entry.
		proposeAndWaitStored(t, l, 10)

		// A restart makes the leader replay its log.
		if restart {
			l.stop()
			l.restart()
		}

		rs.restart()

		// Both running members apply the delta.
		checkFor(t, 5*time.Second, 200*time.Millisecond, func() (err error) {
			for _, sm := range rg {
				if sm != l && sm != rs {
					break
				}
				if total := sm.(*stateAdder).total(); total != 10 {
					err = errors.Join(err, fmt.Errorf("expected 10 total, got: %d", total))
				}
			}
			return err
		})
	}

	t.Run("no-restart", func(t *testing.T) { test(t, false) })
	t.Run("with-restart", func(t *testing.T) { test(t, true) })
}

// TestNRGSimpleCatchup ports test 2671: a member that was down catches up
// from the log, from the same or from a new leader.
func TestNRGSimpleCatchup(t *testing.T) {
	test := func(t *testing.T, leaderChange bool) {
		c := createRaftCluster(t, "R3S", 3)
		defer c.shutdown()

		rg := c.createRaftGroup("TEST", 3, newStateAdder)
		rg.waitOnLeader()

		nl := rg.nonLeader()
		nl.stop()

		l := rg.leader().(*stateAdder)
		l.proposeDelta(10)

		checkFor(t, 2*time.Second, 200*time.Millisecond, func() (err error) {
			for _, sm := range rg {
				total := sm.(*stateAdder).total()
				if sm == nl && total != 0 {
					err = errors.Join(err, errors.New("expected shutdown server to not get data"))
				} else if sm != nl && total != 10 {
					err = errors.Join(err, fmt.Errorf("expected 10 total, got: %d", total))
				}
			}
			return err
		})

		if leaderChange {
			require_NoError(t, l.node().StepDown())
		}

		nl.restart()
		rg.waitOnTotal(t, 10)
	}

	t.Run("same-leader", func(t *testing.T) { test(t, false) })
	t.Run("change-leader", func(t *testing.T) { test(t, true) })
}

// TestNRGTruncateDownToCommitted ports test 2655: an entry of a new leader
// at an uncommitted index replaces ours and is stored right away.
func TestNRGTruncateDownToCommitted(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()

	// Timeline, first leader.
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})

	// Timeline, after the leader change.
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 2, PTerm: 2, PIndex: 2})

	processAE(t, p, aeMsg1, p.AESub())
	require_Equal(t, p.Replication().Commit, 0)
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	// The second entry commits the first.
	processAE(t, p, aeMsg2, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)

	// The new leader's entry truncates down to the commit and is stored.
	processAE(t, p, aeMsg3, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats1)

	processAE(t, p, aeHeartbeat, p.AESub())
	require_Equal(t, p.Replication().Commit, 2)
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
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	p.ReplaceWAL(func(w storage.WAL) storage.WAL { return truncateAlwaysFails{w} })

	entries := sampleEntries()

	// Timeline, first leader.
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})

	// Timeline, after the leader change.
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})

	processAE(t, p, aeMsg1, p.AESub())
	require_Equal(t, p.Replication().Commit, 0)
	require_Equal(t, walMsgs(p), 1)
	require_Equal(t, storedLeader(t, p, 1), nats0)

	processAE(t, p, aeMsg2, p.AESub())
	require_Equal(t, p.Replication().Commit, 1)
	require_Equal(t, walMsgs(p), 2)
	require_Equal(t, storedLeader(t, p, 2), nats0)

	// Truncating fails: the error is kept and the log position stays.
	before := p.Replication()
	processAE(t, p, aeMsg3, p.AESub())
	after := p.Replication()
	require_Error(t, after.WriteErr, errTruncateFails)
	require_Equal(t, before.PIndex, after.PIndex)
	require_Equal(t, before.PTerm, after.PTerm)
}

// TestNRGIgnoreEntryAfterCanceledCatchup ports test 2680: an entry that
// arrives on a catchup subscription after the catchup was canceled is not
// stored.
func TestNRGIgnoreEntryAfterCanceledCatchup(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})

	processAE(t, p, aeMsg2, p.AESub())
	requireCatchup(t, p)

	csub := p.CatchupSub()
	p.CancelCatchup()

	processAE(t, p, aeMsg1, csub)
	require_Equal(t, p.Replication().PIndex, 0)
}

// TestNRGLeaderCatchupHandling ports test 2684: a leader asked by a
// follower that holds only the first entry streams the rest, in order.
func TestNRGLeaderCatchupHandling(t *testing.T) {
	_, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 2, Entries: entries})

	processAE(t, p, aeMsg1, p.AESub())
	processAE(t, p, aeMsg2, p.AESub())
	processAE(t, p, aeMsg3, p.AESub())
	require_Equal(t, p.Replication().PIndex, 3)

	p.SwitchToLeader()

	catchupReply := "$TEST"
	stream, sub := chanSubscribe(t, c.client(), catchupReply, 16)
	defer sub.Unsubscribe()

	// A follower that holds only the first entry.
	p.CatchupFollower(raftport.ResponseSpec{Success: false, Term: 1, Index: 1, Reply: catchupReply})

	// It receives what the leader has, from the second entry on.
	msg := require_ChanRead(t, stream, 5*time.Second)
	ae, err := raftport.DecodeAppendEntry(msg.Data)
	require_NoError(t, err)
	require_Equal(t, ae.PTerm, 1)
	require_Equal(t, ae.PIndex, 1)

	msg = require_ChanRead(t, stream, 5*time.Second)
	ae, err = raftport.DecodeAppendEntry(msg.Data)
	require_NoError(t, err)
	require_Equal(t, ae.PTerm, 1)
	require_Equal(t, ae.PIndex, 2)
}

// TestNRGNewEntriesFromOldLeaderResetsWALDuringCatchup ports test 2685:
// live entries of an old leader during a catchup neither restart the
// catchup with that leader nor reset the log; the catchup carries on.
func TestNRGNewEntriesFromOldLeaderResetsWALDuringCatchup(t *testing.T) {
	_, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, LTerm: 20, Term: 20, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, LTerm: 20, Term: 20, Commit: 0, PTerm: 20, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, LTerm: 20, Term: 20, Commit: 0, PTerm: 20, PIndex: 2, Entries: entries})

	aeReply := "$TEST"
	aeMsg1Fork := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries, Reply: aeReply})
	aeMsg2Fork := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})

	// Trigger a catchup.
	processAE(t, p, aeMsg2, p.AESub())
	validateCatchup := func() {
		t.Helper()
		cv := requireCatchup(t, p)
		require_Equal(t, cv.CTerm, 20)
		require_Equal(t, cv.CIndex, 1)
	}
	validateCatchup()

	// The first missed entry arrives.
	csub := p.CatchupSub()
	processAE(t, p, aeMsg1, csub)
	r := p.Replication()
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 20)

	responses := aeResponses(t, c, aeReply)

	// Make the catchup look stalled: this used to restart it with the
	// old leader.
	require_NoError(t, p.SetCatchupProgress(aeMsg1.Spec().PIndex+1, time.Time{}))
	processAE(t, p, aeMsg1Fork, p.AESub())
	r = p.Replication()
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 20)
	validateCatchup()

	// We answer with our higher term, so the old leader steps down.
	ar, _ := requireResponse(t, c, responses)
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 1)
	require_Equal(t, ar.Term, 20)

	// This used to reset the log.
	processAE(t, p, aeMsg2Fork, p.AESub())
	r = p.Replication()
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 20)
	validateCatchup()

	// The catchup goes on undisturbed.
	processAE(t, p, aeMsg2, csub)
	r = p.Replication()
	require_Equal(t, r.PIndex, 2)
	require_Equal(t, r.PTerm, 20)
	requireNoCatchup(t, p)

	// A catchup entry still in flight is taken though the catchup ended.
	processAE(t, p, aeMsg3, csub)
	r = p.Replication()
	require_Equal(t, r.PIndex, 3)
	require_Equal(t, r.PTerm, 20)
}

// TestNRGParallelCatchupRollback ports test 2691: a catchup entry that
// arrives again after the log moved past it (two catchups in parallel)
// must not roll the log back.
func TestNRGParallelCatchupRollback(t *testing.T) {
	_, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeReply := "$TEST"
	responses := aeResponses(t, c, aeReply)

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, LTerm: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	spec2 := raftport.AppendEntrySpec{Leader: nats0, Term: 1, LTerm: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries}
	aeMsg2 := encode(t, spec2)
	heartbeat := raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 2, Reply: aeReply}
	aeHeartbeat := encode(t, heartbeat)

	// Trigger a catchup.
	processAE(t, p, aeMsg2, p.AESub())
	require_Equal(t, p.Replication().PIndex, 0)
	cv := requireCatchup(t, p)
	require_Equal(t, cv.CTerm, spec2.PTerm)
	require_Equal(t, cv.CIndex, spec2.PIndex)
	csub := p.CatchupSub()

	// The missed entries arrive.
	processAE(t, p, aeMsg1, csub)
	require_Equal(t, p.Replication().PIndex, 1)
	processAE(t, p, aeMsg2, csub)
	require_Equal(t, p.Replication().PIndex, 2)
	requireNoCatchup(t, p)

	// The heartbeat is acknowledged, so the leader can commit.
	processAE(t, p, aeHeartbeat, p.AESub())
	ar, _ := requireResponse(t, c, responses)
	require_True(t, ar.Success)
	require_Equal(t, ar.Term, heartbeat.Term)
	require_Equal(t, ar.Index, heartbeat.PIndex)

	// The first entry again, from a parallel catchup: our log is ahead,
	// nothing may be truncated.
	processAE(t, p, aeMsg1, csub)
	require_Equal(t, p.Replication().PIndex, 2)
}

// TestNRGNoLogResetOnCorruptedSendToFollower ports test 2695: a leader
// whose snapshot turns out corrupt when a follower needs it steps down
// instead of wiping its log.
func TestNRGNoLogResetOnCorruptedSendToFollower(t *testing.T) {
	c := createRaftCluster(t, "R3S", 2)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 2, newStateAdder)
	rg.waitOnLeader()

	leader := rg.leader().(*stateAdder)
	follower := rg.nonLeader().(*stateAdder)
	lp := raftport.NewProbe(leader.node())
	fp := raftport.NewProbe(follower.node())

	// One append entry per proposal: each waits until the previous one
	// is applied by the whole group.
	var total int64
	for i := range int64(10) {
		leader.proposeDelta(i + 1)
		total += i + 1
		rg.waitOnTotal(t, total)
	}

	rg.waitOnTotal(t, 55)
	leader.snapshot(t)

	// The snapshot compacted the leader's log.
	require_Equal(t, lp.WALState().Entries, 0)

	// Flatten the follower, so that it needs the snapshot.
	require_NoError(t, fp.WAL().Truncate(0))
	follower.stop()

	// Subtly corrupt the leader's snapshot.
	snapfile := lp.SnapFile()
	stat, err := os.Stat(snapfile)
	require_NoError(t, err)
	require_NoError(t, os.Truncate(snapfile, stat.Size()-1))

	// Forget earlier leadership signals: the next one must come from the
	// leader failing to send the snapshot.
	select {
	case <-leader.lch:
	default:
	}

	// The follower asks for the snapshot. The leader cannot send it and
	// steps down (the reference waits for its cluster to settle here);
	// it must keep its log.
	follower.restart()
	checkFor(t, 10*time.Second, 0, func() error {
		if require_ChanRead(t, leader.lch, 10*time.Second) {
			return errors.New("still leader")
		}
		return nil
	})
	require_NotEqual(t, lp.WALState().LastIndex, 0)
}

// createFileWALNode bootstraps and initialises (without running) a node of
// group TEST with a file WAL in dir on host s.
func createFileWALNode(t *testing.T, s *raftport.Server, dir string, bootstrap bool) (raftport.RaftNode, *raftport.Probe) {
	t.Helper()
	cfg := &raftport.RaftConfig{Name: "TEST", Store: dir, Log: openFileWAL(t, filepath.Join(dir, "wal"))}
	if bootstrap {
		require_NoError(t, s.BootstrapRaftNode(cfg, nil, false))
	}
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	return n, p
}

// TestNRGTruncateLogWithMisalignedSnapshotGap ports test 2696: on restart,
// a log that starts past the entry after the snapshot (a gap) is truncated
// back to the snapshot, and the missing entries can be stored again.
func TestNRGTruncateLogWithMisalignedSnapshotGap(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]
	storeDir := t.TempDir()

	n, p := createFileWALNode(t, s, storeDir, true)

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2, Entries: entries})

	for i, ae := range []*raftport.AppendEntryMsg{aeMsg1, aeMsg2, aeMsg3} {
		processAE(t, p, ae, p.AESub())
		require_Equal(t, p.Replication().PIndex, uint64(i+1))
	}

	// Apply up to 1, then snapshot.
	n.Applied(1)
	require_NoError(t, n.InstallSnapshot(nil, false))

	state := p.WALState()
	require_Equal(t, state.FirstIndex, 2)
	require_Equal(t, state.LastIndex, 3)

	// Compact further, so the log no longer lines up with the snapshot.
	require_NoError(t, p.WAL().Compact(3))
	state = p.WALState()
	require_Equal(t, state.FirstIndex, 3)
	require_Equal(t, state.LastIndex, 3)

	// Restart.
	n.Stop()
	n.WaitForStop()
	n, p = createFileWALNode(t, s, storeDir, false)
	defer func() {
		n.Stop()
		n.WaitForStop()
	}()

	// The gap is detected and the log truncated: we cannot go on with
	// entries missing.
	state = p.WALState()
	require_Equal(t, state.Entries, 0)
	require_Equal(t, state.FirstIndex, 2)
	require_Equal(t, state.LastIndex, 1)
	require_Equal(t, p.Replication().PIndex, 1)

	// The missing entries can be stored again.
	for i, ae := range []*raftport.AppendEntryMsg{aeMsg2, aeMsg3} {
		processAE(t, p, ae, p.AESub())
		require_Equal(t, p.Replication().PIndex, uint64(i+2))
	}
}

// TestNRGTruncateLogWithMissingSnapshot ports test 2697: on restart, a log
// compacted without a snapshot to cover the compacted entries is reset.
func TestNRGTruncateLogWithMissingSnapshot(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]
	storeDir := t.TempDir()

	n, p := createFileWALNode(t, s, storeDir, true)

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2, Entries: entries})

	for i, ae := range []*raftport.AppendEntryMsg{aeMsg1, aeMsg2, aeMsg3} {
		processAE(t, p, ae, p.AESub())
		require_Equal(t, p.Replication().PIndex, uint64(i+1))
	}

	// Compact as a snapshot would, without installing one.
	require_NoError(t, p.WAL().Compact(2))
	state := p.WALState()
	require_Equal(t, state.FirstIndex, 2)
	require_Equal(t, state.LastIndex, 3)

	// Restart.
	n.Stop()
	n.WaitForStop()
	n, p = createFileWALNode(t, s, storeDir, false)
	defer func() {
		n.Stop()
		n.WaitForStop()
	}()

	// Entries are missing and no snapshot covers them: the log is reset.
	// (The reference's empty store reports first and last sequence 0;
	// an empty raftport WAL whose next index is 1 reports first 1, last 0.)
	state = p.WALState()
	require_Equal(t, state.Entries, 0)
	require_Equal(t, state.FirstIndex, 1)
	require_Equal(t, state.LastIndex, 0)
	require_Equal(t, p.Replication().PIndex, 0)
}

// TestNRGHeartbeatOnLeaderChange ports test 2632: after each leader
// restart the group keeps making progress, the restarted member (with an
// empty memory log) catching up each time.
func TestNRGHeartbeatOnLeaderChange(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()

	for i := range 10 {
		leader := rg.waitOnLeader().(*stateAdder)
		leader.proposeDelta(22)
		leader.proposeDelta(-11)
		leader.proposeDelta(-10)
		// Each round must add exactly one.
		rg.waitOnTotal(t, int64(i+1))
		leader.stop()
		leader.restart()
		rg.waitOnLeader()
	}
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
	c := createRaftClusterWithTiming(t, "R3S", 3, tm)
	defer c.shutdown()
	_, p := initSingleMemRaftNodeOn(t, c)

	const entries, entrySize, window = 30, 100 * 1024, 2 * 1024 * 1024
	payload := make([]byte, entrySize)
	for i := range entries {
		ae := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: uint64(min(i, 1)), PIndex: uint64(i),
			Entries: []*raftport.Entry{{Type: raftport.EntryNormal, Data: payload}}})
		processAE(t, p, ae, p.AESub())
	}
	require_Equal(t, p.Replication().PIndex, entries)
	p.SwitchToLeader()
	last := p.Replication().PIndex

	stream, sub := chanSubscribe(t, c.client(), "$TEST", 2*entries)
	defer sub.Unsubscribe()

	// A follower with an empty log asks to be caught up.
	p.CatchupFollower(raftport.ResponseSpec{Term: 0, Index: 0, Peer: nats1, Reply: "$TEST"})

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
		ae, err := raftport.DecodeAppendEntry(msg.Data)
		require_NoError(t, err)
		require_Equal(t, ae.PIndex, uint64(i))
	}
	// Nothing more until the follower acknowledges.
	requireNoResponse(t, c, stream)
	require_Equal(t, len(p.CatchupFollowers()), 1)

	// Acknowledging the first entry frees its room: exactly one more.
	p.ProcessAppendEntryResponse(raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats1, Success: true})
	msg := require_ChanRead(t, stream, 5*time.Second)
	ae, err := raftport.DecodeAppendEntry(msg.Data)
	require_NoError(t, err)
	require_Equal(t, ae.PIndex, uint64(len(first)))
	requireNoResponse(t, c, stream)

	// Silence: the leader gives up on the follower after the stall timeout.
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(p.CatchupFollowers()); n != 0 {
			return fmt.Errorf("%d catchups still running", n)
		}
		return nil
	})
	requireNoResponse(t, c, stream)
}

// TestFollowerCatchupStallRequestsAgain checks the follower side of stall
// detection beyond the reference tests: live entries are ignored while a
// catchup makes progress, and once it has made none for the stall timeout
// the next live entry makes the follower ask again on a fresh inbox.
func TestFollowerCatchupStallRequestsAgain(t *testing.T) {
	_, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	aeReply := "$TEST"
	responses := aeResponses(t, c, aeReply)
	live := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: 1, PIndex: 1, Entries: sampleEntries(), Reply: aeReply})

	// Missing the first entry starts a catchup.
	processAE(t, p, live, p.AESub())
	ar, msg := requireResponse(t, c, responses)
	require_False(t, ar.Success)
	require_True(t, strings.HasPrefix(msg.Reply, "$NRG.CR."))
	firstInbox := msg.Reply
	firstSub := p.CatchupSub()

	// While the catchup is fresh, live entries are dropped unanswered.
	processAE(t, p, live, p.AESub())
	requireNoResponse(t, c, responses)

	// No progress for longer than the stall timeout: ask again.
	require_NoError(t, p.SetCatchupProgress(0, time.Now().Add(-time.Hour)))
	processAE(t, p, live, p.AESub())
	ar, msg = requireResponse(t, c, responses)
	require_False(t, ar.Success)
	require_Equal(t, ar.Index, 0)
	require_True(t, strings.HasPrefix(msg.Reply, "$NRG.CR."))
	require_NotEqual(t, msg.Reply, firstInbox)
	require_True(t, p.CatchupSub() != firstSub)
	require_Equal(t, p.Replication().PIndex, 0)
}
