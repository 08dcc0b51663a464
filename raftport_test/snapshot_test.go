package raftport_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// TestNRGSimple ports test 2616: a 3-member group agrees on a sum proposed
// through random members.
func TestNRGSimple(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()
	rg.randomMember().(*stateAdder).proposeDelta(22)
	rg.randomMember().(*stateAdder).proposeDelta(-11)
	rg.randomMember().(*stateAdder).proposeDelta(-10)
	rg.waitOnTotal(t, 1)
}

// TestNRGSnapshotAndRestart ports test 2617: a follower that snapshots,
// stops while the leader keeps committing and restarts from its file WAL
// and snapshot ends with the group's total.
func TestNRGSnapshotAndRestart(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	lsm := rg.waitOnLeader()
	require_NotNil(t, lsm)
	leader := lsm.(*stateAdder)

	var expectedTotal int64
	sm := rg.nonLeader().(*stateAdder)

	for i := 0; i < 1000; i++ {
		delta := rand.Int64N(222)
		expectedTotal += delta
		leader.proposeDelta(delta)

		if i == 250 {
			// Let the follower apply some of it before both snapshot.
			rg.waitOnTotal(t, expectedTotal)
			leader.snapshot(t)
			sm.snapshot(t)
			sm.stop()
		}
	}
	sm.restart()
	rg.waitOnTotal(t, expectedTotal)
}

// deliverLive delivers msg on the node's live append-entry subscription.
func deliverLive(t testing.TB, p *raftport.Probe, msg *raftport.AppendEntryMsg) {
	t.Helper()
	require_NoError(t, p.ProcessAppendEntry(msg, p.AESub()))
}

// deliverCatchup delivers msg on the node's catchup subscription.
func deliverCatchup(t testing.TB, p *raftport.Probe, msg *raftport.AppendEntryMsg) {
	t.Helper()
	sub := p.CatchupSub()
	require_False(t, sub.IsZero())
	require_NoError(t, p.ProcessAppendEntry(msg, sub))
}

// snapshotFiles lists the node's snapshots directory.
func snapshotFiles(t testing.TB, p *raftport.Probe) []os.DirEntry {
	t.Helper()
	files, err := os.ReadDir(p.SnapshotsDir())
	require_NoError(t, err)
	return files
}

// TestNRGDontRemoveSnapshotIfTruncateToApplied ports test 2647: truncating
// the log back to the applied index keeps the snapshot that covers it.
func TestNRGDontRemoveSnapshotIfTruncateToApplied(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})

	deliverLive(t, p, aeMsg)
	require_Equal(t, p.WALState().Entries, 1)
	entry, err := p.LoadEntry(1)
	require_NoError(t, err)
	require_Equal(t, entry.Leader, nats0)

	deliverLive(t, p, aeHeartbeat)
	require_Equal(t, p.Replication().Commit, 1)
	require_Equal(t, p.Replication().PTerm, 1)

	n.Applied(1)

	require_NoError(t, n.InstallSnapshot(nil, false))
	require_Len(t, len(snapshotFiles(t, p)), 1)

	rs := p.Replication()
	p.TruncateWAL(rs.PTerm, rs.Applied)
	require_Len(t, len(snapshotFiles(t, p)), 1)
}

// TestNRGSnapshotAndTruncateToApplied ports test 2648: a node that led
// briefly, snapshotted and then holds an uncommitted entry of its own term
// drops that entry for the returning leader without losing commits.
func TestNRGSnapshotAndTruncateToApplied(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	require_NoError(t, p.AddPeer(nats1))

	// Timeline, other leader.
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	// Timeline, we temporarily became leader.
	aeHeartbeat1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 3, PTerm: 1, PIndex: 3})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 3, PTerm: 1, PIndex: 3, Entries: entries})
	// Timeline, old leader is back.
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats1, Term: 3, Commit: 3, PTerm: 1, PIndex: 3})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().Commit, 0)
	require_Equal(t, p.WALState().Entries, 1)
	entry, err := p.LoadEntry(1)
	require_NoError(t, err)
	require_Equal(t, entry.Leader, nats1)

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().Commit, 1)
	require_Equal(t, p.WALState().Entries, 2)
	entry, err = p.LoadEntry(2)
	require_NoError(t, err)
	require_Equal(t, entry.Leader, nats1)

	n.Applied(1)

	// As leader, the heartbeat's acknowledgement commits the rest.
	p.SwitchToLeader()
	hb := aeHeartbeat1.Spec()
	p.ProcessAppendEntryResponse(raftport.ResponseSpec{Term: hb.Term, Index: hb.PIndex, Peer: nats1, Success: true})
	require_Equal(t, p.Replication().Commit, 3)

	n.Applied(3)

	require_NoError(t, n.InstallSnapshot(nil, false))
	require_Len(t, len(snapshotFiles(t, p)), 1)
	require_Equal(t, p.WALState().Entries, 0)

	// A third entry stays uncommitted.
	require_NoError(t, p.StoreToWAL(aeMsg3))
	require_Equal(t, p.Replication().Commit, 3)
	require_Equal(t, p.WALState().Entries, 1)
	entry, err = p.LoadEntry(4)
	require_NoError(t, err)
	require_Equal(t, entry.Leader, nats0)

	// The returning leader's heartbeat must not cost any commit.
	p.Stepdown("")
	deliverLive(t, p, aeHeartbeat2)
	rs := p.Replication()
	require_Equal(t, p.WALState().Entries, 0)
	require_Equal(t, rs.Commit, 3)
	require_Equal(t, rs.Applied, 3)
}

// TestNRGIgnoreDoubleSnapshot ports test 2649: a second snapshot with
// nothing newly applied is refused and leaves the first one in place.
func TestNRGIgnoreDoubleSnapshot(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 0)

	deliverLive(t, p, aeHeartbeat)
	require_Equal(t, p.Replication().Commit, 1)

	n.Applied(1)

	// Only to move pterm up.
	deliverLive(t, p, aeMsg2)
	rs := p.Replication()
	require_Equal(t, rs.PIndex, 2)
	require_Equal(t, rs.Commit, 1)
	require_Equal(t, rs.PTerm, 2)
	require_Equal(t, rs.Term, 2)

	require_NoError(t, n.InstallSnapshot(nil, false))
	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastTerm, 1)
	require_Equal(t, snap.LastIndex, 1)

	err = n.InstallSnapshot(nil, false)
	require_Error(t, err, raftport.ErrNoSnapAvailable)
	snap, err = p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastTerm, 1)
	require_Equal(t, snap.LastIndex, 1)
}

// TestNRGMemoryWALEmptiesSnapshotsDir ports test 2658: a node with a
// memory WAL restarts with an empty log, so its old snapshots are removed.
func TestNRGMemoryWALEmptiesSnapshotsDir(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})

	deliverLive(t, p, aeMsg)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 0)

	deliverLive(t, p, aeHeartbeat)
	require_Equal(t, p.Replication().Commit, 1)

	n.Applied(1)
	require_NoError(t, n.InstallSnapshot(nil, false))
	require_Len(t, len(snapshotFiles(t, p)), 1)

	n.Stop()
	n.WaitForStop()

	s := c.servers[0]
	cfg := &raftport.RaftConfig{Name: "TEST", Store: p.StoreDir(), Log: storage.NewMemWAL()}
	_, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)

	require_Len(t, len(snapshotFiles(t, p)), 0)
}

// TestNRGSnapshotCatchup ports test 2672: a follower that was down while
// the leader snapshotted catches up from the snapshot, with and without
// the leader restarting (and replaying its log) first.
func TestNRGSnapshotCatchup(t *testing.T) {
	test := func(t *testing.T, restart bool) {
		c := createRaftCluster(t, "R3S", 3)
		defer c.shutdown()

		rg := c.createRaftGroup("TEST", 3, newStateAdder)
		rg.waitOnLeader()

		l := rg.leader().(*stateAdder)
		var s1, s2 stateMachine
		for _, sm := range rg {
			if sm == l {
				continue
			}
			if s1 == nil {
				s1 = sm
			} else {
				s2 = sm
			}
		}

		s1.stop()

		l.proposeDelta(10)
		checkFor(t, 5*time.Second, 10*time.Millisecond, func() (err error) {
			for _, sm := range rg {
				if sm == s1 {
					continue
				}
				if total := sm.(*stateAdder).total(); total != 10 {
					err = errors.Join(err, fmt.Errorf("expected 10 total, got: %d", total))
				}
			}
			return err
		})

		s2.stop()

		// The stopped follower will need this snapshot to catch up.
		l.snapshot(t)

		proposeAndWaitStored(t, l, 10)

		if restart {
			l.stop()
			l.restart()
		}

		s1.restart()

		checkFor(t, 5*time.Second, 10*time.Millisecond, func() (err error) {
			for _, sm := range rg {
				if sm == s2 {
					continue
				}
				if total := sm.(*stateAdder).total(); total != 20 {
					err = errors.Join(err, fmt.Errorf("expected 20 total, got: %d", total))
				}
			}
			return err
		})
	}

	t.Run("no-restart", func(t *testing.T) { test(t, false) })
	t.Run("with-restart", func(t *testing.T) { test(t, true) })
}

// TestNRGSnapshotRecovery ports test 2673: recovering a snapshot at startup
// restores the log position and commit but not applied, which only moves
// once the state machine has applied the snapshot.
func TestNRGSnapshotRecovery(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: sampleEntries()})

	deliverLive(t, p, aeMsg)
	rs := p.Replication()
	require_Equal(t, rs.PIndex, 1)
	require_Equal(t, rs.Commit, 1)
	require_Equal(t, rs.Applied, 0)

	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	require_NoError(t, n.InstallSnapshot(nil, false))

	p.Lock()
	rs = p.ReplicationLocked()
	p.SetLogPositionLocked(rs.Term, rs.PTerm, 0, 0)
	p.Unlock()
	p.SetProcessed(0)
	p.SetApplied(0)
	require_NoError(t, p.SetupLastSnapshot())
	rs = p.Replication()
	require_Equal(t, rs.PIndex, 1)
	require_Equal(t, rs.Commit, 1)
	require_Equal(t, rs.Processed, 0)
	require_Equal(t, rs.Applied, 0)
}

// TestNRGReplayOnSnapshotSameTerm ports test 2677: a repeated append entry
// that matches the snapshot in term is a replay: success, no truncation.
func TestNRGReplayOnSnapshotSameTerm(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)

	require_NoError(t, p.ApplyCommit(1))
	require_Equal(t, p.Replication().Commit, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	require_NoError(t, n.InstallSnapshot(nil, false))
	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastIndex, 1)

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)
	deliverLive(t, p, aeMsg3)
	require_Equal(t, p.Replication().PIndex, 3)

	// A repeat, or a delayed copy of an entry already received in a catchup.
	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 3)
}

// TestNRGReplayOnSnapshotDifferentTerm ports test 2678: a repeated append
// entry right after the snapshot, from a later term, truncates back to the
// snapshot (not a full WAL reset) and the log continues from there.
func TestNRGReplayOnSnapshotDifferentTerm(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: entries, LTerm: 2})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries, LTerm: 2})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 1, PTerm: 2, PIndex: 2, Entries: entries, LTerm: 2})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)

	require_NoError(t, p.ApplyCommit(1))
	require_Equal(t, p.Replication().Commit, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	require_NoError(t, n.InstallSnapshot(nil, false))
	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastIndex, 1)

	// As if the snapshot came from another leader and is not applied yet.
	p.SetApplied(0)

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)
	deliverLive(t, p, aeMsg3)
	require_Equal(t, p.Replication().PIndex, 3)

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)

	deliverLive(t, p, aeMsg3)
	require_Equal(t, p.Replication().PIndex, 3)
}

// snapshotNodeOnDisk is a one-member group on a file WAL whose node, not
// running, has installed one snapshot of "state" at index 1. It returns
// what a restart needs.
func snapshotNodeOnDisk(t *testing.T) (*cluster, *raftport.RaftConfig, string, raftport.RaftNode, *raftport.Probe) {
	t.Helper()
	c := createRaftCluster(t, "R3S", 3)
	s := c.servers[0]
	walDir := c.tempDir()
	cfg := &raftport.RaftConfig{Name: "TEST", Store: c.tempDir(), Log: openFileWAL(t, walDir)}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	c.trackNode(n)

	deliverLive(t, p, encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: sampleEntries()}))
	deliverLive(t, p, encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1}))
	n.Applied(1)
	require_NoError(t, n.InstallSnapshot([]byte("state"), false))
	return c, cfg, walDir, n, p
}

// restartOnDisk stops n and initialises it again from its store and WAL.
func restartOnDisk(t *testing.T, c *cluster, cfg *raftport.RaftConfig, walDir string, n raftport.RaftNode) (raftport.RaftNode, *raftport.Probe, error) {
	t.Helper()
	n.Stop()
	n.WaitForStop()
	cfg.Log = openFileWAL(t, walDir)
	n, p, err := raftport.InitRaftNode(c.servers[0], globalAccountName, cfg)
	if err == nil {
		c.trackNode(n)
	}
	return n, p, err
}

// TestSnapshotDamageIsReported: a snapshot file with a flipped bit or cut
// short is reported as corrupt, never handed to the state machine, and
// fails the node's restart instead of letting it recover a partial state.
func TestSnapshotDamageIsReported(t *testing.T) {
	damages := map[string]func(buf []byte) []byte{
		"flipped-bit": func(buf []byte) []byte { buf[len(buf)/2] ^= 0x10; return buf },
		"truncated":   func(buf []byte) []byte { return buf[:len(buf)-1] },
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			c, cfg, walDir, n, p := snapshotNodeOnDisk(t)
			snap, err := p.LoadLastSnapshot()
			require_NoError(t, err)
			require_True(t, bytes.Equal(snap.Data, []byte("state")))

			file := p.SnapFile()
			buf, err := os.ReadFile(file)
			require_NoError(t, err)
			require_NoError(t, os.WriteFile(file, damage(buf), 0o644))

			_, err = p.LoadLastSnapshot()
			require_Error(t, err, raftport.ErrSnapshotCorrupt)
			queued := n.ApplyQ().Len()
			require_False(t, n.DrainAndReplaySnapshot())
			require_Equal(t, n.ApplyQ().Len(), queued)

			_, _, err = restartOnDisk(t, c, cfg, walDir, n)
			require_Error(t, err, raftport.ErrSnapshotCorrupt)
		})
	}
}

// TestSnapshotLeftoversIgnoredAtStartup: names that are not exactly
// snap.<term>.<index> (an interrupted write's temporary file, a stray
// file) are removed at startup and never taken for the newest snapshot.
func TestSnapshotLeftoversIgnoredAtStartup(t *testing.T) {
	c, cfg, walDir, n, p := snapshotNodeOnDisk(t)
	dir := p.SnapshotsDir()
	leftovers := []string{"snap.9.9.tmp-interrupted", "snap.9.9.bak", "notes"}
	for _, name := range leftovers {
		require_NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("garbage"), 0o644))
	}

	_, p, err := restartOnDisk(t, c, cfg, walDir, n)
	require_NoError(t, err)
	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastIndex, 1)
	require_True(t, bytes.Equal(snap.Data, []byte("state")))
	files := snapshotFiles(t, p)
	require_Len(t, len(files), 1)
	require_Equal(t, filepath.Join(dir, files[0].Name()), p.SnapFile())
}
