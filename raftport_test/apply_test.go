package raftport_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

// progress checks the node's log end, commit, processed and applied
// indexes at once.
func progress(pindex, commit, processed, applied uint64) check {
	return all(lastIndex(pindex), committed(commit), processedAt(processed), appliedAt(applied))
}

// processed tells the node its state machine processed up to index and
// applied up to applied.
func (st *stepped) processed(index, applied uint64, checks ...check) {
	st.t.Helper()
	st.n.Processed(index, applied)
	st.expect(checks...)
}

// TestNRGProcessed ports test 2686: Processed moves processed and applied
// separately, Applied moves both, and applied never passes processed.
func TestNRGProcessed(t *testing.T) {
	st := stepNode(t)
	// Entry i+1, which commits itself.
	entry := func(i uint64) aeDraft { return aeFrom(nats0, 1).after(min(i, 1), i).committing(i + 1).withEntry() }

	for i := range uint64(3) {
		st.live(entry(i), progress(i+1, i+1, 0, 0))
	}
	st.processed(1, 0, progress(3, 3, 1, 0))
	st.processed(2, 1, progress(3, 3, 2, 1))
	st.applied(3, progress(3, 3, 3, 3))

	for i := uint64(3); i < 5; i++ {
		st.live(entry(i), progress(i+1, i+1, 3, 3))
	}
	// An applied index above processed is clamped to processed.
	st.processed(4, 5, progress(5, 5, 4, 4))
}

// sized checks what the node reports as the size of its log.
func sized(entries, bytes uint64) check {
	return field("size (entries, bytes)", func(st *stepped) string {
		e, b := st.n.Size()
		return fmt.Sprint(e, b)
	}, fmt.Sprint(entries, bytes))
}

// appliedFrees reports applying up to index and checks what it says a
// snapshot could compact.
func (st *stepped) appliedFrees(index, entries, bytes uint64) {
	st.t.Helper()
	e, b := st.n.Applied(index)
	if e != entries || b != bytes {
		st.t.Fatalf("applying %d frees %d entries of %d bytes, want %d of %d", index, e, b, entries, bytes)
	}
}

func walBytes(want uint64) check {
	return counter("bytes", func(r replicationState) uint64 { return r.Bytes }, want)
}

// TestNRGSizeAndApplied ports test 2679: Size and Applied report what the
// WAL holds and what a snapshot could compact, and installing snapshots
// moves papplied and the byte count. The reference's byte counts are its
// stream store's record sizes; here they are the stored append entries'
// encoded sizes, which is what this WAL counts.
func TestNRGSizeAndApplied(t *testing.T) {
	st := stepNode(t)
	first := aeFrom(nats0, 1).after(0, 0).withEntry().wire(t)
	second := aeFrom(nats0, 1).after(1, 1).withEntry().wire(t)
	one, two := uint64(len(first.Bytes())), uint64(len(second.Bytes()))
	require_Equal(t, one, two)

	st.expect(sized(0, 0))
	require_NoError(t, st.p.StoreToWAL(first))
	st.expect(sized(1, one))
	require_NoError(t, st.p.StoreToWAL(second))
	st.expect(sized(2, one+two))

	st.p.SetCommit(1)
	st.appliedFrees(1, 1, one)
	st.p.SetCommit(2)
	st.appliedFrees(2, 2, one+two)

	// A snapshot moves papplied and the byte count.
	st.p.SetApplied(1)
	st.snapshot(snapshotAt(1), walBytes(two), sized(1, two))
	st.appliedFrees(2, 1, two)
	st.snapshot(snapshotAt(2), walBytes(0), sized(0, 0))
}

// applyQueue checks whether applies are paused, how many committed
// entries wait in the apply queue, and the commit and highest known
// commit.
func applyQueue(paused bool, queued int, commit, hcommit uint64) check {
	return all(
		field("paused", func(st *stepped) bool { return st.state().Paused }, paused),
		field("queued", func(st *stepped) int { return st.n.ApplyQ().Len() }, queued),
		committed(commit),
		counter("hcommit", func(r replicationState) uint64 { return r.HCommit }, hcommit))
}

// TestNRGDrainAndReplaySnapshot ports test 2688: replaying the snapshot
// drains the apply queue, pauses applies and keeps the highest commit, so
// that ResumeApply queues everything committed since the snapshot.
func TestNRGDrainAndReplaySnapshot(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	replayed := func(checks ...check) {
		t.Helper()
		require_True(t, st.n.DrainAndReplaySnapshot())
		st.expect(checks...)
	}
	resumed := func(checks ...check) {
		t.Helper()
		st.n.ResumeApply()
		st.expect(checks...)
	}

	st.expect(applyQueue(false, 0, 0, 0))
	for i := range uint64(3) {
		st.live(leader.after(min(i, 1), i).withEntry())
	}
	st.live(leader.after(1, 3).committing(3), lastIndex(3), applyQueue(false, 3, 3, 0))

	// Without a snapshot there is nothing to replay.
	require_False(t, st.n.DrainAndReplaySnapshot())
	st.expect(applyQueue(false, 3, 3, 0))

	// An upper-layer catchup from a snapshot timed out.
	st.applied(1)
	require_NoError(t, st.n.InstallSnapshot([]byte("snapshot"), false))
	replayed(applyQueue(true, 1, 1, 3))
	ce, ok := st.n.ApplyQ().PopOne()
	require_True(t, ok)
	require_Equal(t, ce.Index, 1)
	require_Len(t, len(ce.Entries), 1)
	require_Equal(t, ce.Entries[0].Type, raftport.EntrySnapshot)
	require_Equal(t, string(ce.Entries[0].Data), "snapshot")
	// Put it back: the reference test leaves the snapshot queued.
	replayed(applyQueue(true, 1, 1, 3))
	resumed(applyQueue(false, 3, 3, 0))

	// The snapshot processing times out again, and new entries meanwhile
	// raise the highest known commit, which replaying again keeps.
	replayed(applyQueue(true, 1, 1, 3))
	st.live(leader.after(1, 3).committing(3).withEntry())
	st.live(leader.after(1, 4).committing(4), lastIndex(4), applyQueue(true, 1, 1, 4))
	replayed(applyQueue(true, 1, 1, 4))
	resumed(applyQueue(false, 4, 4, 0))
}

// TestNRGHealthCheckWaitForCatchup ports test 2659: a follower is not
// healthy while catching up, nor until it applied the last commit.
func TestNRGHealthCheckWaitForCatchup(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0)
	leader := aeFrom(nats0, 1)
	heartbeat := leader.after(1, 3).committing(3)

	// The heartbeat is ahead of us: catchup starts.
	st.live(heartbeat, catchupFrom(0, 0), catchupUpTo(heartbeat.Term, heartbeat.PIndex))
	st.catchup(leader.after(0, 0).withEntry(), lastIndex(1), healthy(false))
	st.catchup(leader.after(1, 1).committing(1).withEntry(), lastIndex(2), committed(1), healthy(false))
	// Applying before the next catchup message does not end the catchup.
	st.applied(1, healthy(false))
	st.catchup(leader.after(1, 2).committing(2).withEntry(), lastIndex(3), committed(2))
	st.applied(2, healthy(false))

	// The heartbeat ends the catchup; the last entry still has to be
	// applied.
	st.live(heartbeat, notCatchingUp(), lastIndex(3), committed(3), healthy(false))
	st.applied(3, healthy(true))
}

// TestNRGHealthCheckWaitForDoubleCatchup ports test 2660: entries missed
// during a catchup start a second one, and health waits for both.
func TestNRGHealthCheckWaitForDoubleCatchup(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0)
	leader := aeFrom(nats0, 1)
	third := leader.after(1, 2).committing(2).withEntry()
	firstHeartbeat, secondHeartbeat := leader.after(1, 2).committing(2), leader.after(1, 3).committing(3)

	st.live(firstHeartbeat, catchupFrom(0, 0), catchupUpTo(firstHeartbeat.Term, firstHeartbeat.PIndex))
	st.catchup(leader.after(0, 0).withEntry(), lastIndex(1), healthy(false))

	// Missed while catching up.
	st.live(third, catchingUp(), lastIndex(1), healthy(false))
	st.live(secondHeartbeat, catchingUp(), lastIndex(1), healthy(false))

	// The last message of the first catchup; it waits for the next live
	// one.
	st.catchup(leader.after(1, 1).committing(1).withEntry(), lastIndex(2), committed(1))
	st.applied(1, healthy(false), catchupUpTo(firstHeartbeat.Term, firstHeartbeat.PIndex))

	// A heartbeat from beyond restarts the catchup from where we are.
	st.live(secondHeartbeat, catchupFrom(1, 2), catchupUpTo(secondHeartbeat.Term, secondHeartbeat.PIndex), healthy(false))
	st.catchup(third, lastIndex(3), committed(2))
	st.applied(2, healthy(false))

	st.live(secondHeartbeat, notCatchingUp(), lastIndex(3), committed(3), healthy(false))
	st.applied(3, healthy(true))
}

// TestNRGHealthCheckWaitForPendingCommitsWhenPaused ports test 2661: a
// paused node is healthy only without commits it has not handed on, and
// after resuming only once they are applied.
func TestNRGHealthCheckWaitForPendingCommitsWhenPaused(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0)
	leader := aeFrom(nats0, 1)

	st.live(leader.after(0, 0).withEntry(), lastIndex(1), healthy(false))
	st.live(leader.after(1, 1).committing(1).withEntry(), lastIndex(2), healthy(false))
	st.applied(1, healthy(true))

	require_NoError(t, st.n.PauseApply())
	st.expect(healthy(true))

	// The heartbeat commits the second entry, which waits while paused.
	st.live(leader.after(1, 2).committing(2), lastIndex(2), healthy(false))
	st.n.ResumeApply()
	st.expect(healthy(false))
	st.applied(2, healthy(true))
}

// checkpointAborted checks that every step of an aborted checkpoint fails
// with ErrSnapAborted; its entries yield the error once, as they must
// yield at least once to hand it over.
func checkpointAborted(t *testing.T, c raftport.RaftNodeCheckpoint) {
	t.Helper()
	_, err := c.LoadLastSnapshot()
	require_Error(t, err, raftport.ErrSnapAborted)
	yields := 0
	for _, err := range c.AppendEntriesSeq() {
		yields++
		require_Error(t, err, raftport.ErrSnapAborted)
	}
	require_Equal(t, yields, 1)
	_, err = c.InstallSnapshot(nil)
	require_Error(t, err, raftport.ErrSnapAborted)
}

// checkpointEntries checks that a checkpoint yields exactly the entries
// after the given pindexes, in order, without an error.
func checkpointEntries(t *testing.T, c raftport.RaftNodeCheckpoint, pindexes ...uint64) {
	t.Helper()
	var got []uint64
	for e, err := range c.AppendEntriesSeq() {
		require_NoError(t, err)
		got = append(got, e.Index-1)
	}
	require_Equal(t, fmt.Sprint(got), fmt.Sprint(pindexes))
}

// checkpointBase checks the snapshot a checkpoint builds on.
func checkpointBase(t *testing.T, c raftport.RaftNodeCheckpoint, want string) {
	t.Helper()
	if buf, err := c.LoadLastSnapshot(); err != nil || string(buf) != want {
		t.Fatalf("the checkpoint builds on %q (error %v), want %q", buf, err, want)
	}
}

// newCheckpoint starts a checkpoint that must be granted.
func (st *stepped) newCheckpoint() raftport.RaftNodeCheckpoint {
	st.t.Helper()
	c, err := st.n.CreateSnapshotCheckpoint(false)
	require_NoError(st.t, err)
	return c
}

// TestNRGInstallSnapshotFromCheckpoint ports test 2715: checkpoints load
// the previous snapshot and the entries since, install, abort, refuse a
// second checkpoint, and are aborted by a snapshot installed underneath.
func TestNRGInstallSnapshotFromCheckpoint(t *testing.T) {
	st := stepNode(t)
	entry := func(i uint64) aeDraft { return aeFrom(nats0, 1).after(min(i, 1), i).committing(i).withEntry() }

	st.live(entry(0), lastIndex(1), committed(0))
	st.live(entry(1), lastIndex(2), committed(1))
	st.applied(1, appliedAt(1))

	// The first checkpoint has no previous snapshot, and one entry.
	c := st.newCheckpoint()
	buf, err := c.LoadLastSnapshot()
	require_Error(t, err, raftport.ErrNoSnapAvailable)
	require_True(t, buf == nil)
	checkpointEntries(t, c, 0)
	_, err = c.InstallSnapshot([]byte("old"))
	require_NoError(t, err)
	st.expect(snapshotHolds("old"), snapshotAt(1), logSpans(2, 2))
	// Installed, so the checkpoint is done with.
	checkpointAborted(t, c)

	st.live(entry(2), lastIndex(3), committed(2))
	st.live(entry(3), lastIndex(4), committed(3))
	st.applied(3, appliedAt(3))

	// One checkpoint at a time.
	c = st.newCheckpoint()
	_, err = st.n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, raftport.ErrSnapInProgress)
	c.Abort()
	checkpointAborted(t, c)

	// The second checkpoint builds on the first snapshot.
	c = st.newCheckpoint()
	checkpointBase(t, c, "old")
	checkpointEntries(t, c, 1, 2)
	_, err = c.InstallSnapshot([]byte("new"))
	require_NoError(t, err)
	st.expect(snapshotHolds("new"))

	st.live(aeFrom(nats0, 1).after(1, 4).committing(4), lastIndex(4), committed(4))
	st.applied(4, appliedAt(4))

	// While a checkpoint runs, a normal install is refused...
	c = st.newCheckpoint()
	require_Error(t, st.n.InstallSnapshot(nil, false), raftport.ErrSnapInProgress)
	checkpointBase(t, c, "new")

	// ...but a snapshot from a catchup is installed and aborts the
	// checkpoint, which must never overwrite it with older state.
	snap, err := st.p.LoadLastSnapshot()
	require_NoError(t, err)
	snap.LastIndex++
	require_NoError(t, st.p.InstallSnapshotInternal(snap))
	_, err = c.LoadLastSnapshot()
	require_Error(t, err, raftport.ErrSnapAborted)

	// The checkpoint's base snapshot was replaced underneath it.
	st.p.SetSnapshotting(true)
	_, err = c.LoadLastSnapshot()
	require_Error(t, err, errors.New("snapshot index mismatch"))
}

// TestNRGInstallSnapshotForce ports test 2716: a catchup in progress holds
// off snapshots unless they are forced.
func TestNRGInstallSnapshotForce(t *testing.T) {
	st := stepNode(t)
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), lastIndex(1), committed(0))
	st.live(aeFrom(nats0, 1).after(1, 1).committing(1), lastIndex(1), committed(1))
	st.applied(1, appliedAt(1))

	st.p.AddCatchupInProgress("blockSnapshots")
	require_Error(t, st.n.InstallSnapshot(nil, false), raftport.ErrCatchupsRunning)
	st.expect(snapshotAt(0))
	require_NoError(t, st.n.InstallSnapshot(nil, true))
	st.expect(snapshotAt(1))
}

// TestNRGInstallSnapshotFromCheckpointAfterTruncateToSnapshot ports test
// 2717: after a catchup snapshot and a truncation back to it, checkpoints
// refuse until something new is applied, then build on that snapshot.
func TestNRGInstallSnapshotFromCheckpointAfterTruncateToSnapshot(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	noCheckpoint := func() {
		t.Helper()
		_, err := st.n.CreateSnapshotCheckpoint(false)
		require_Error(t, err, raftport.ErrNoSnapAvailable)
	}

	st.live(leader.after(0, 0).withEntry(), lastIndex(1), committed(0))
	st.live(leader.after(1, 1).committing(1), lastIndex(1), committed(1))
	st.applied(1, appliedAt(1))
	st.snapshot(snapshotAt(1))

	// As if a leader caught us up with a snapshot up to index 100.
	caughtUp := snapshotView{LastTerm: 1, LastIndex: 100, PeerState: st.p.PeerStateEntry().Data, Data: []byte("catchup")}
	st.moveLog(caughtUp.LastTerm, caughtUp.LastIndex, caughtUp.LastIndex)
	require_NoError(t, st.p.InstallSnapshotInternal(caughtUp))
	st.expect(snapshotAt(100), appliedAt(1))

	// Uncommitted entries truncated back to the snapshot.
	st.p.TruncateWAL(1, 100)
	st.expect(snapshotAt(100))

	// Nothing applied since the previous snapshot; then only the
	// previous snapshot applied: still nothing new.
	noCheckpoint()
	st.applied(100, appliedAt(100))
	noCheckpoint()

	st.live(leader.after(1, 100).committing(100).withEntry(), lastIndex(101), committed(100))
	st.live(leader.after(1, 101).committing(101), lastIndex(101), committed(101))
	st.applied(101, appliedAt(101))

	c := st.newCheckpoint()
	checkpointBase(t, c, "catchup")
	checkpointEntries(t, c, 100)
}
