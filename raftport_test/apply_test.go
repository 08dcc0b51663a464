package raftport_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

// TestNRGProcessed ports test 2686: Processed moves processed and applied
// separately, Applied moves both, and applied never passes processed.
func TestNRGProcessed(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 2, Entries: entries})
	aeMsg4 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 4, PTerm: 1, PIndex: 3, Entries: entries})
	aeMsg5 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 5, PTerm: 1, PIndex: 4, Entries: entries})

	check := func(pindex, commit, processed, applied uint64) {
		t.Helper()
		rs := p.Replication()
		require_Equal(t, rs.PIndex, pindex)
		require_Equal(t, rs.Commit, commit)
		require_Equal(t, rs.Processed, processed)
		require_Equal(t, rs.Applied, applied)
	}

	for i, aeMsg := range []*raftport.AppendEntryMsg{aeMsg1, aeMsg2, aeMsg3} {
		deliverLive(t, p, aeMsg)
		check(uint64(i+1), uint64(i+1), 0, 0)
	}

	n.Processed(1, 0)
	check(3, 3, 1, 0)

	n.Processed(2, 1)
	check(3, 3, 2, 1)

	n.Applied(3)
	check(3, 3, 3, 3)

	for i, aeMsg := range []*raftport.AppendEntryMsg{aeMsg4, aeMsg5} {
		deliverLive(t, p, aeMsg)
		check(uint64(i+4), uint64(i+4), 3, 3)
	}

	// An applied index above processed is clamped to processed.
	n.Processed(4, 5)
	check(5, 5, 4, 4)
}

// TestNRGSizeAndApplied ports test 2679: Size and Applied report what the
// WAL holds and what a snapshot could compact, and installing snapshots
// moves papplied and the byte count. The reference's byte counts are its
// stream store's record sizes; here they are the stored append entries'
// encoded sizes, which is what this WAL counts.
func TestNRGSizeAndApplied(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: sampleEntries()})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: sampleEntries()})
	size1 := uint64(len(aeMsg1.Bytes()))
	size2 := uint64(len(aeMsg2.Bytes()))
	require_Equal(t, size1, size2)

	entries, bytes := n.Size()
	require_Equal(t, entries, 0)
	require_Equal(t, bytes, 0)

	require_NoError(t, p.StoreToWAL(aeMsg1))
	entries, bytes = n.Size()
	require_Equal(t, entries, 1)
	require_Equal(t, bytes, size1)

	require_NoError(t, p.StoreToWAL(aeMsg2))
	entries, bytes = n.Size()
	require_Equal(t, entries, 2)
	require_Equal(t, bytes, size1+size2)

	// Applying reports what part of the WAL a snapshot could compact.
	p.SetCommit(1)
	entries, bytes = n.Applied(1)
	require_Equal(t, entries, 1)
	require_Equal(t, bytes, size1)

	p.SetCommit(2)
	entries, bytes = n.Applied(2)
	require_Equal(t, entries, 2)
	require_Equal(t, bytes, size1+size2)

	// A snapshot moves papplied and the byte count.
	p.SetApplied(1)
	require_NoError(t, n.InstallSnapshot(nil, false))
	rs := p.Replication()
	require_Equal(t, rs.PApplied, 1)
	require_Equal(t, rs.Bytes, size2)
	entries, bytes = n.Size()
	require_Equal(t, entries, 1)
	require_Equal(t, bytes, size2)

	entries, bytes = n.Applied(2)
	require_Equal(t, entries, 1)
	require_Equal(t, bytes, size2)

	require_NoError(t, n.InstallSnapshot(nil, false))
	rs = p.Replication()
	require_Equal(t, rs.PApplied, 2)
	require_Equal(t, rs.Bytes, 0)
	entries, bytes = n.Size()
	require_Equal(t, entries, 0)
	require_Equal(t, bytes, 0)
}

// TestNRGDrainAndReplaySnapshot ports test 2688: replaying the snapshot
// drains the apply queue, pauses applies and keeps the highest commit, so
// that ResumeApply queues everything committed since the snapshot.
func TestNRGDrainAndReplaySnapshot(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 2, Entries: entries})
	aeHeartbeat1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3})
	aeMsg4 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 4, PTerm: 1, PIndex: 4})

	check := func(paused bool, queued int, commit, hcommit uint64) {
		t.Helper()
		rs := p.Replication()
		require_Equal(t, rs.Paused, paused)
		require_Len(t, n.ApplyQ().Len(), queued)
		require_Equal(t, rs.Commit, commit)
		require_Equal(t, rs.HCommit, hcommit)
	}

	require_Len(t, n.ApplyQ().Len(), 0)
	deliverLive(t, p, aeMsg1)
	deliverLive(t, p, aeMsg2)
	deliverLive(t, p, aeMsg3)
	deliverLive(t, p, aeHeartbeat1)
	require_Equal(t, p.Replication().PIndex, 3)
	check(false, 3, 3, 0)

	// Without a snapshot there is nothing to replay.
	require_False(t, n.DrainAndReplaySnapshot())
	check(false, 3, 3, 0)

	// An upper-layer catchup from a snapshot timed out.
	n.Applied(1)
	require_NoError(t, n.InstallSnapshot([]byte("snapshot"), false))

	require_True(t, n.DrainAndReplaySnapshot())
	check(true, 1, 1, 3)
	ce, ok := n.ApplyQ().PopOne()
	require_True(t, ok)
	require_Equal(t, ce.Index, 1)
	require_Len(t, len(ce.Entries), 1)
	require_Equal(t, ce.Entries[0].Type, raftport.EntrySnapshot)
	require_True(t, bytes.Equal(ce.Entries[0].Data, []byte("snapshot")))
	// Put it back: the reference test leaves the snapshot queued.
	require_True(t, n.DrainAndReplaySnapshot())
	check(true, 1, 1, 3)

	n.ResumeApply()
	check(false, 3, 3, 0)

	// The snapshot processing times out again.
	require_True(t, n.DrainAndReplaySnapshot())
	check(true, 1, 1, 3)

	// New entries meanwhile raise the highest known commit.
	deliverLive(t, p, aeMsg4)
	deliverLive(t, p, aeHeartbeat2)
	require_Equal(t, p.Replication().PIndex, 4)
	check(true, 1, 1, 4)

	// Replaying again keeps it.
	require_True(t, n.DrainAndReplaySnapshot())
	check(true, 1, 1, 4)

	n.ResumeApply()
	check(false, 4, 4, 0)
}

// TestNRGHealthCheckWaitForCatchup ports test 2659: a follower is not
// healthy while catching up, nor until it applied the last commit.
func TestNRGHealthCheckWaitForCatchup(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	require_NoError(t, p.AddPeer(nats0))

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3})

	// The heartbeat is ahead of us: catchup starts.
	deliverLive(t, p, aeHeartbeat)
	cv, ok := p.Catchup()
	require_True(t, ok)
	require_Equal(t, cv.PTerm, 0)
	require_Equal(t, cv.PIndex, 0)
	require_Equal(t, cv.CTerm, aeHeartbeat.Spec().Term)
	require_Equal(t, cv.CIndex, aeHeartbeat.Spec().PIndex)

	deliverCatchup(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())

	deliverCatchup(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)
	require_Equal(t, p.Replication().Commit, 1)
	require_False(t, n.Healthy())

	// Applying before the next catchup message does not end the catchup.
	n.Applied(1)
	require_False(t, n.Healthy())

	deliverCatchup(t, p, aeMsg3)
	require_Equal(t, p.Replication().PIndex, 3)
	require_Equal(t, p.Replication().Commit, 2)
	n.Applied(2)
	require_False(t, n.Healthy())

	// The heartbeat ends the catchup.
	deliverLive(t, p, aeHeartbeat)
	_, ok = p.Catchup()
	require_False(t, ok)
	require_Equal(t, p.Replication().PIndex, 3)
	require_Equal(t, p.Replication().Commit, 3)
	require_False(t, n.Healthy())

	// The last entry still has to be applied.
	n.Applied(3)
	require_True(t, n.Healthy())
}

// TestNRGHealthCheckWaitForDoubleCatchup ports test 2660: entries missed
// during a catchup start a second one, and health waits for both.
func TestNRGHealthCheckWaitForDoubleCatchup(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	require_NoError(t, p.AddPeer(nats0))

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeHeartbeat1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3})

	deliverLive(t, p, aeHeartbeat1)
	cv, ok := p.Catchup()
	require_True(t, ok)
	require_Equal(t, cv.PTerm, 0)
	require_Equal(t, cv.PIndex, 0)
	require_Equal(t, cv.CTerm, aeHeartbeat1.Spec().Term)
	require_Equal(t, cv.CIndex, aeHeartbeat1.Spec().PIndex)

	deliverCatchup(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())

	// Missed while catching up.
	deliverLive(t, p, aeMsg3)
	_, ok = p.Catchup()
	require_True(t, ok)
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())

	deliverLive(t, p, aeHeartbeat2)
	_, ok = p.Catchup()
	require_True(t, ok)
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())

	// The last catchup message; the catchup waits for the next live one.
	deliverCatchup(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)
	require_Equal(t, p.Replication().Commit, 1)
	n.Applied(1)
	require_False(t, n.Healthy())

	cv, ok = p.Catchup()
	require_True(t, ok)
	require_Equal(t, cv.CTerm, aeHeartbeat1.Spec().Term)
	require_Equal(t, cv.CIndex, aeHeartbeat1.Spec().PIndex)

	// A heartbeat from beyond restarts the catchup from where we are.
	deliverLive(t, p, aeHeartbeat2)
	cv, ok = p.Catchup()
	require_True(t, ok)
	require_Equal(t, cv.PTerm, 1)
	require_Equal(t, cv.PIndex, 2)
	require_Equal(t, cv.CTerm, aeHeartbeat2.Spec().Term)
	require_Equal(t, cv.CIndex, aeHeartbeat2.Spec().PIndex)
	require_False(t, n.Healthy())

	deliverCatchup(t, p, aeMsg3)
	require_Equal(t, p.Replication().PIndex, 3)
	require_Equal(t, p.Replication().Commit, 2)
	n.Applied(2)
	require_False(t, n.Healthy())

	deliverLive(t, p, aeHeartbeat2)
	_, ok = p.Catchup()
	require_False(t, ok)
	require_Equal(t, p.Replication().PIndex, 3)
	require_Equal(t, p.Replication().Commit, 3)
	require_False(t, n.Healthy())

	n.Applied(3)
	require_True(t, n.Healthy())
}

// TestNRGHealthCheckWaitForPendingCommitsWhenPaused ports test 2661: a
// paused node is healthy only without commits it has not handed on, and
// after resuming only once they are applied.
func TestNRGHealthCheckWaitForPendingCommitsWhenPaused(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	require_NoError(t, p.AddPeer(nats0))

	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 2)
	require_False(t, n.Healthy())

	n.Applied(1)
	require_True(t, n.Healthy())

	require_NoError(t, n.PauseApply())
	require_True(t, n.Healthy())

	// The heartbeat commits the second entry, which waits while paused.
	deliverLive(t, p, aeHeartbeat)
	require_Equal(t, p.Replication().PIndex, 2)
	require_False(t, n.Healthy())

	n.ResumeApply()
	require_False(t, n.Healthy())

	n.Applied(2)
	require_True(t, n.Healthy())
}

// TestNRGInstallSnapshotFromCheckpoint ports test 2715: checkpoints load
// the previous snapshot and the entries since, install, abort, refuse a
// second checkpoint, and are aborted by a snapshot installed underneath.
func TestNRGInstallSnapshotFromCheckpoint(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 2, PTerm: 1, PIndex: 2, Entries: entries})
	aeMsg4 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 3, PTerm: 1, PIndex: 3, Entries: entries})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 4, PTerm: 1, PIndex: 4})

	position := func(pindex, commit uint64) {
		t.Helper()
		require_Equal(t, p.Replication().PIndex, pindex)
		require_Equal(t, p.Replication().Commit, commit)
	}
	requireAborted := func(c raftport.RaftNodeCheckpoint) {
		t.Helper()
		_, err := c.LoadLastSnapshot()
		require_Error(t, err, raftport.ErrSnapAborted)
		count := 0
		for _, err := range c.AppendEntriesSeq() {
			count++
			require_Error(t, err, raftport.ErrSnapAborted)
		}
		// At least one iteration, to hand over the error.
		require_Equal(t, count, 1)
		_, err = c.InstallSnapshot(nil)
		require_Error(t, err, raftport.ErrSnapAborted)
	}

	deliverLive(t, p, aeMsg1)
	position(1, 0)
	deliverLive(t, p, aeMsg2)
	position(2, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	// The first checkpoint has no previous snapshot.
	c, err := n.CreateSnapshotCheckpoint(false)
	require_NoError(t, err)
	buf, err := c.LoadLastSnapshot()
	require_Error(t, err, raftport.ErrNoSnapAvailable)
	require_True(t, buf == nil)

	count := 0
	for ae, err := range c.AppendEntriesSeq() {
		count++
		require_NoError(t, err)
		require_Equal(t, ae.Spec().PIndex, 0)
	}
	require_Equal(t, count, 1)

	_, err = c.InstallSnapshot([]byte("old"))
	require_NoError(t, err)
	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_True(t, bytes.Equal(snap.Data, []byte("old")))

	// Installed, so the checkpoint is done with.
	requireAborted(c)

	deliverLive(t, p, aeMsg3)
	position(3, 2)
	deliverLive(t, p, aeMsg4)
	position(4, 3)
	n.Applied(3)
	require_Equal(t, p.Replication().Applied, 3)

	// One checkpoint at a time.
	c, err = n.CreateSnapshotCheckpoint(false)
	require_NoError(t, err)
	_, err = n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, raftport.ErrSnapInProgress)

	c.Abort()
	requireAborted(c)

	// The second checkpoint builds on the first snapshot.
	c, err = n.CreateSnapshotCheckpoint(false)
	require_NoError(t, err)
	buf, err = c.LoadLastSnapshot()
	require_NoError(t, err)
	require_True(t, bytes.Equal(buf, []byte("old")))

	count = 0
	for ae, err := range c.AppendEntriesSeq() {
		count++
		require_NoError(t, err)
		require_Equal(t, ae.Spec().PIndex, uint64(count))
	}
	require_Equal(t, count, 2)

	_, err = c.InstallSnapshot([]byte("new"))
	require_NoError(t, err)
	snap, err = p.LoadLastSnapshot()
	require_NoError(t, err)
	require_True(t, bytes.Equal(snap.Data, []byte("new")))

	deliverLive(t, p, aeHeartbeat)
	position(4, 4)
	n.Applied(4)
	require_Equal(t, p.Replication().Applied, 4)

	// While a checkpoint runs, a normal install is refused...
	c, err = n.CreateSnapshotCheckpoint(false)
	require_NoError(t, err)
	require_Error(t, n.InstallSnapshot(nil, false), raftport.ErrSnapInProgress)

	buf, err = c.LoadLastSnapshot()
	require_NoError(t, err)
	require_True(t, bytes.Equal(buf, []byte("new")))

	// ...but a snapshot from a catchup is installed and aborts the
	// checkpoint, which must never overwrite it with older state.
	snap.LastIndex++
	require_NoError(t, p.InstallSnapshotInternal(snap))

	_, err = c.LoadLastSnapshot()
	require_Error(t, err, raftport.ErrSnapAborted)

	// The checkpoint's base snapshot was replaced underneath it.
	p.SetSnapshotting(true)
	_, err = c.LoadLastSnapshot()
	require_Error(t, err, errors.New("snapshot index mismatch"))
}

// TestNRGInstallSnapshotForce ports test 2716: a catchup in progress holds
// off snapshots unless they are forced.
func TestNRGInstallSnapshotForce(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: sampleEntries()})
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})

	deliverLive(t, p, aeMsg)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 0)
	deliverLive(t, p, aeHeartbeat)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	p.AddCatchupInProgress("blockSnapshots")

	require_Error(t, n.InstallSnapshot(nil, false), raftport.ErrCatchupsRunning)
	require_Equal(t, p.Replication().PApplied, 0)

	require_NoError(t, n.InstallSnapshot(nil, true))
	require_Equal(t, p.Replication().PApplied, 1)
}

// TestNRGInstallSnapshotFromCheckpointAfterTruncateToSnapshot ports test
// 2717: after a catchup snapshot and a truncation back to it, checkpoints
// refuse until something new is applied, then build on that snapshot.
func TestNRGInstallSnapshotFromCheckpointAfterTruncateToSnapshot(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	entries := sampleEntries()
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeHeartbeat1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 100, PTerm: 1, PIndex: 100, Entries: entries})
	aeHeartbeat2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 101, PTerm: 1, PIndex: 101})

	deliverLive(t, p, aeMsg1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 0)
	deliverLive(t, p, aeHeartbeat1)
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.Replication().Commit, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)

	require_NoError(t, n.InstallSnapshot(nil, false))
	require_Equal(t, p.Replication().PApplied, 1)

	// As if a leader caught us up with a snapshot.
	snap := raftport.SnapshotView{
		LastTerm:  1,
		LastIndex: 100,
		PeerState: p.PeerStateEntry().Data,
		Data:      []byte("catchup"),
	}
	p.Lock()
	p.SetLogPositionLocked(p.ReplicationLocked().Term, snap.LastTerm, snap.LastIndex, snap.LastIndex)
	p.Unlock()
	require_NoError(t, p.InstallSnapshotInternal(snap))
	require_Equal(t, p.Replication().PApplied, 100)
	require_Equal(t, p.Replication().Applied, 1)

	// Uncommitted entries truncated back to the snapshot.
	p.TruncateWAL(1, 100)
	require_Equal(t, p.Replication().PApplied, 100)

	// Nothing applied since the previous snapshot.
	_, err := n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, raftport.ErrNoSnapAvailable)

	// Only the previous snapshot is applied: still nothing new.
	n.Applied(100)
	require_Equal(t, p.Replication().Applied, 100)
	_, err = n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, raftport.ErrNoSnapAvailable)

	deliverLive(t, p, aeMsg2)
	require_Equal(t, p.Replication().PIndex, 101)
	require_Equal(t, p.Replication().Commit, 100)
	deliverLive(t, p, aeHeartbeat2)
	require_Equal(t, p.Replication().PIndex, 101)
	require_Equal(t, p.Replication().Commit, 101)
	n.Applied(101)
	require_Equal(t, p.Replication().Applied, 101)

	c, err := n.CreateSnapshotCheckpoint(false)
	require_NoError(t, err)

	buf, err := c.LoadLastSnapshot()
	require_NoError(t, err)
	require_True(t, bytes.Equal(buf, []byte("catchup")))

	count := 0
	for ae, err := range c.AppendEntriesSeq() {
		count++
		require_NoError(t, err)
		require_Equal(t, ae.Spec().PIndex, 100)
	}
	require_Equal(t, count, 1)
}
