package raftport_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// TestNRGSimple ports test 2616: a 3-member group agrees on a sum proposed
// through random members.
func TestNRGSimple(t *testing.T) {
	_, rg, _ := electedAdders(t, groupSpec{})
	for _, delta := range []int64{22, -11, -10} {
		rg.randomMember().proposeDelta(delta)
	}
	rg.waitOnTotal(t, 1)
}

// sum adds deltas up.
func sum(deltas []int64) (total int64) {
	for _, d := range deltas {
		total += d
	}
	return total
}

// TestNRGSnapshotAndRestart ports test 2617: a follower that snapshots,
// stops while the leader keeps committing and restarts from its file WAL
// and snapshot ends with the group's total.
func TestNRGSnapshotAndRestart(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{})
	member := rg.nonLeader()
	deltas := make([]int64, 1000)
	for i := range deltas {
		deltas[i] = rand.Int64N(222)
	}
	before, after := deltas[:251], deltas[251:]

	// After the first 251 proposals, once the follower applied them,
	// leader and follower snapshot and the follower stops.
	leader.proposeDeltas(before...)
	rg.waitOnTotal(t, sum(before))
	leader.snapshot(t)
	member.snapshot(t)
	member.stop()

	leader.proposeDeltas(after...)
	member.restart()
	rg.waitOnTotal(t, sum(deltas))
}

// lastSnapshot checks the term and index of the node's newest snapshot.
func lastSnapshot(term, index uint64) check {
	return func(st *stepped) {
		st.t.Helper()
		snap, err := st.p.LoadLastSnapshot()
		require_NoError(st.t, err)
		if snap.LastTerm != term || snap.LastIndex != index {
			st.t.Fatalf("the last snapshot covers [%d:%d], want [%d:%d]", snap.LastTerm, snap.LastIndex, term, index)
		}
	}
}

// TestNRGDontRemoveSnapshotIfTruncateToApplied ports test 2647: truncating
// the log back to the applied index keeps the snapshot that covers it.
func TestNRGDontRemoveSnapshotIfTruncateToApplied(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).withEntry(), logHolds(1), writtenBy(1, nats0))
	st.live(leader.after(1, 1).committing(1), committed(1), lastTerm(1))
	st.applied(1)
	st.snapshot(snapshotsOnDisk(1))

	now := st.state()
	st.p.TruncateWAL(now.PTerm, now.Applied)
	st.expect(snapshotsOnDisk(1))
}

// TestNRGSnapshotAndTruncateToApplied ports test 2648: a node that led
// briefly, snapshotted and then holds an uncommitted entry of its own term
// drops that entry for the returning leader without losing commits.
func TestNRGSnapshotAndTruncateToApplied(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats1)
	other := aeFrom(nats1, 1).withEntry()
	// While we led in term 2 (nats0 stands for us), then the other is back.
	ourHeartbeat := aeFrom(nats0, 2).after(1, 3).committing(3)
	ourEntry := ourHeartbeat.withEntry()
	itsReturn := aeFrom(nats1, 3).after(1, 3).committing(3)

	st.live(other.after(0, 0), committed(0), logHolds(1), writtenBy(1, nats1))
	st.live(other.after(1, 1).committing(1), committed(1), logHolds(2), writtenBy(2, nats1))
	st.applied(1)

	// As leader, the acknowledgement of our heartbeat commits the rest.
	st.p.SwitchToLeader()
	st.ack(ackFrom(nats1, ourHeartbeat.Term, ourHeartbeat.PIndex, true), committed(3))
	st.applied(3)
	st.snapshot(snapshotsOnDisk(1), logHolds(0))

	// A third entry of ours stays uncommitted.
	require_NoError(t, st.p.StoreToWAL(ourEntry.wire(t)))
	st.expect(committed(3), logHolds(1), writtenBy(4, nats0))

	// The returning leader's heartbeat must not cost any commit.
	st.p.Stepdown("")
	st.live(itsReturn, logHolds(0), committed(3), appliedAt(3))
}

// TestNRGIgnoreDoubleSnapshot ports test 2649: a second snapshot with
// nothing newly applied is refused and leaves the first one in place.
func TestNRGIgnoreDoubleSnapshot(t *testing.T) {
	st := stepNode(t)
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), lastIndex(1), committed(0))
	st.live(aeFrom(nats0, 1).after(1, 1).committing(1), committed(1))
	st.applied(1)
	// Only to move pterm up.
	st.live(aeFrom(nats0, 2).after(1, 1).committing(1).withEntry(), lastIndex(2), committed(1), lastTerm(2), inTerm(2))

	st.snapshot(lastSnapshot(1, 1))
	require_Error(t, st.n.InstallSnapshot(nil, false), raftport.ErrNoSnapAvailable)
	st.expect(lastSnapshot(1, 1))
}

// TestNRGMemoryWALEmptiesSnapshotsDir ports test 2658: a node with a
// memory WAL restarts with an empty log, so its old snapshots are removed.
func TestNRGMemoryWALEmptiesSnapshotsDir(t *testing.T) {
	st := stepNode(t)
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), lastIndex(1), committed(0))
	st.live(aeFrom(nats0, 1).after(1, 1).committing(1), committed(1))
	st.applied(1)
	st.snapshot(snapshotsOnDisk(1))

	st.restart()
	st.expect(snapshotsOnDisk(0))
}

// TestNRGSnapshotCatchup ports test 2672: a follower that was down while
// the leader snapshotted catches up from the snapshot, with and without
// the leader restarting (and replaying its log) first.
func TestNRGSnapshotCatchup(t *testing.T) {
	eitherWay(t, "no-restart", "with-restart", func(t *testing.T, restartLeader bool) {
		_, rg, leader := electedAdders(t, groupSpec{})
		followers := rg.except(leader)
		behind, away := followers[0], followers[1]

		behind.stop()
		leader.proposeDelta(10)
		within(t, 5*time.Second, sumsTo(10, rg.except(behind)...))

		// The leader snapshots with both followers away: the one that
		// comes back can only catch up from that snapshot.
		away.stop()
		leader.snapshot(t)
		proposeAndWaitStored(t, leader, 10)
		if restartLeader {
			leader.stop()
			leader.restart()
		}

		behind.restart()
		within(t, 5*time.Second, sumsTo(20, rg.except(away)...))
	})
}

// TestNRGSnapshotRecovery ports test 2673: recovering a snapshot at startup
// restores the log position and commit but not applied, which only moves
// once the state machine has applied the snapshot.
func TestNRGSnapshotRecovery(t *testing.T) {
	st := stepNode(t)
	st.live(aeFrom(nats0, 1).after(0, 0).committing(1).withEntry(), lastIndex(1), committed(1), appliedAt(0))
	st.applied(1, appliedAt(1))
	st.snapshot()

	// Back to a node that knows nothing but its snapshot.
	st.moveLog(st.state().PTerm, 0, 0)
	st.p.SetProcessed(0)
	st.p.SetApplied(0)
	require_NoError(t, st.p.SetupLastSnapshot())
	st.expect(lastIndex(1), committed(1), processedAt(0), appliedAt(0))
}

// snapshotFirstEntry stores first, commits and applies it, and snapshots.
func snapshotFirstEntry(st *stepped, first aeDraft) {
	st.t.Helper()
	st.live(first, lastIndex(1))
	require_NoError(st.t, st.p.ApplyCommit(1))
	st.expect(committed(1))
	st.applied(1, appliedAt(1))
	st.snapshot(lastSnapshotIndex(1))
}

// lastSnapshotIndex checks the index of the node's newest snapshot.
func lastSnapshotIndex(index uint64) check {
	return field("last snapshot index", func(st *stepped) uint64 {
		st.t.Helper()
		snap, err := st.p.LoadLastSnapshot()
		require_NoError(st.t, err)
		return snap.LastIndex
	}, index)
}

// TestNRGReplayOnSnapshotSameTerm ports test 2677: a repeated append entry
// that matches the snapshot in term is a replay: success, no truncation.
func TestNRGReplayOnSnapshotSameTerm(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1).committing(1).withEntry()
	snapshotFirstEntry(st, leader.after(0, 0))

	second := leader.after(1, 1)
	st.live(second, lastIndex(2))
	st.live(leader.after(1, 2), lastIndex(3))
	// A repeat, or a delayed copy of an entry received in a catchup.
	st.live(second, lastIndex(3))
}

// TestNRGReplayOnSnapshotDifferentTerm ports test 2678: a repeated append
// entry right after the snapshot, from a later term, truncates back to the
// snapshot (not a full WAL reset) and the log continues from there.
func TestNRGReplayOnSnapshotDifferentTerm(t *testing.T) {
	st := stepNode(t)
	snapshotFirstEntry(st, aeFrom(nats0, 1).inLeaderTerm(2).after(0, 0).committing(1).withEntry())
	// As if the snapshot came from another leader and is not applied yet.
	st.p.SetApplied(0)

	leader := aeFrom(nats0, 2).inLeaderTerm(2).committing(1).withEntry()
	second, third := leader.after(1, 1), leader.after(2, 2)
	for range 2 {
		st.live(second, lastIndex(2))
		st.live(third, lastIndex(3))
	}
}

// snapshotOnDisk is a stepped node on a file WAL that stored and applied
// one entry and installed a snapshot of "state" at index 1.
func snapshotOnDisk(t *testing.T) *stepped {
	t.Helper()
	st := createRaftCluster(t, "R3S", 3).stepNode(nodeSetup{onDisk: true})
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry())
	st.live(aeFrom(nats0, 1).after(1, 1).committing(1))
	st.applied(1)
	require_NoError(t, st.n.InstallSnapshot([]byte("state"), false))
	return st
}

// snapshotHolds checks the newest snapshot's content.
func snapshotHolds(want string) check {
	return field("last snapshot", func(st *stepped) string {
		st.t.Helper()
		snap, err := st.p.LoadLastSnapshot()
		require_NoError(st.t, err)
		return string(snap.Data)
	}, want)
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
			st := snapshotOnDisk(t)
			st.expect(snapshotHolds("state"))

			file := st.p.SnapFile()
			buf, err := os.ReadFile(file)
			require_NoError(t, err)
			require_NoError(t, os.WriteFile(file, damage(buf), 0o644))

			_, err = st.p.LoadLastSnapshot()
			require_Error(t, err, raftport.ErrSnapshotCorrupt)
			queued := st.n.ApplyQ().Len()
			require_False(t, st.n.DrainAndReplaySnapshot())
			require_Equal(t, st.n.ApplyQ().Len(), queued)

			require_Error(t, st.tryRestart(), raftport.ErrSnapshotCorrupt)
		})
	}
}

// TestSnapshotLeftoversIgnoredAtStartup: names that are not exactly
// snap.<term>.<index> (an interrupted write's temporary file, a stray
// file) are removed at startup and never taken for the newest snapshot.
func TestSnapshotLeftoversIgnoredAtStartup(t *testing.T) {
	st := snapshotOnDisk(t)
	dir := st.p.SnapshotsDir()
	for _, name := range []string{"snap.9.9.tmp-interrupted", "snap.9.9.bak", "notes"} {
		require_NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("garbage"), 0o644))
	}

	st.restart()
	st.expect(lastSnapshotIndex(1), snapshotHolds("state"), snapshotsOnDisk(1))
	require_Equal(t, filepath.Join(dir, st.snapshotFiles()[0].Name()), st.p.SnapFile())
}
