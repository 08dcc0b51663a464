package raftport_test

// End-to-end tests of a stepped node's snapshots and checkpoints, its apply
// queue (pausing it, the committed entries it carries and their pool), its
// write errors and state files, and the decoders that must refuse damaged
// input.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// normalEntry is a normal entry carrying data.
func normalEntry(data string) *raftport.Entry {
	return &raftport.Entry{Type: raftport.EntryNormal, Data: []byte(data)}
}

// takeApplyQueue takes everything queued for the state machine.
func (st *stepped) takeApplyQueue() []*raftport.CommittedEntry {
	return st.n.ApplyQ().Pop()
}

// applyQueueHolds checks that the apply queue holds exactly one committed
// entry, at index, whose entries have the given types and data, and takes
// it off the queue.
func (st *stepped) applyQueueHolds(index uint64, want ...*raftport.Entry) *raftport.CommittedEntry {
	st.t.Helper()
	ces := st.takeApplyQueue()
	if len(ces) != 1 {
		st.t.Fatalf("the apply queue holds %d committed entries, want 1", len(ces))
	}
	ce := ces[0]
	if ce.Index != index {
		st.t.Fatalf("the committed entry is at index %d, want %d", ce.Index, index)
	}
	if len(ce.Entries) != len(want) {
		st.t.Fatalf("the committed entry at %d carries %d entries, want %d", index, len(ce.Entries), len(want))
	}
	for i, e := range ce.Entries {
		if e.Type != want[i].Type || string(e.Data) != string(want[i].Data) {
			st.t.Fatalf("entry %d of commit %d is %v %q, want %v %q", i, index, e.Type, e.Data, want[i].Type, want[i].Data)
		}
	}
	return ce
}

func paused(want bool) check {
	return field("apply paused", func(st *stepped) bool { return st.state().Paused }, want)
}

func heldCommit(want uint64) check {
	return counter("held commit", func(r replicationState) uint64 { return r.HCommit }, want)
}

func snapFileSet(want bool) check {
	return field("snapshot file set", func(st *stepped) bool { return st.p.SnapFile() != "" }, want)
}

func noWriteErr() check {
	return field("write error", func(st *stepped) error { return st.state().WriteErr }, nil)
}

// TestE2EApplyQueueCommittedEntries follows two entries from a leader to
// the apply queue: each commit queues one committed entry with its index
// and the entry it commits, and handing it back to the pool clears it and
// its entries; a nil one is ignored.
func TestE2EApplyQueueCommittedEntries(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)

	st.live(leader.after(0, 0).carrying(normalEntry("a")), lastIndex(1), committed(0))
	require_Len(t, st.n.ApplyQ().Len(), 0)
	st.live(leader.after(1, 1).committing(1).carrying(normalEntry("b")), lastIndex(2), committed(1))
	ce := st.applyQueueHolds(1, normalEntry("a"))

	entry := ce.Entries[0]
	ce.ReturnToPool()
	require_Equal(t, ce.Index, 0)
	require_True(t, ce.Entries == nil)
	require_True(t, entry.Data == nil)
	require_Equal(t, entry.Type, raftport.EntryNormal)

	st.live(leader.after(1, 2).committing(2), lastIndex(2), committed(2))
	st.applyQueueHolds(2, normalEntry("b")).ReturnToPool()

	var none *raftport.CommittedEntry
	none.ReturnToPool()
	require_True(t, none == nil)
}

// TestE2EPauseApplyHoldsCommits pauses a follower's apply queue: commits
// are held back until it resumes, the election timer is pushed out, a
// candidate gives up its campaign when paused, and a leader refuses.
func TestE2EPauseApplyHoldsCommits(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).carrying(normalEntry("a")), lastIndex(1))
	st.live(leader.after(1, 1).committing(1).carrying(normalEntry("b")), lastIndex(2), committed(1))
	st.applyQueueHolds(1, normalEntry("a"))

	st.p.ClearElectionTimerReset()
	require_NoError(t, st.n.PauseApply())
	st.expect(paused(true), heldCommit(1), inState(raftport.Follower), committed(1))
	require_False(t, st.p.ElectionTimerReset().IsZero())

	// The commit of entry 2 is held back while paused.
	st.live(leader.after(1, 2).committing(2), committed(1), heldCommit(2), paused(true))
	require_Len(t, st.n.ApplyQ().Len(), 0)

	st.n.ResumeApply()
	st.expect(paused(false), heldCommit(0), committed(2))
	st.applyQueueHolds(2, normalEntry("b"))
	st.applied(2, appliedAt(2))

	// A candidate pausing gives up its campaign.
	st.becomeCandidate(inState(raftport.Candidate), inTerm(2))
	require_NoError(t, st.n.PauseApply())
	st.expect(inState(raftport.Follower), paused(true), heldCommit(2), inTerm(2))
	st.n.ResumeApply()
	st.expect(paused(false))

	// A leader cannot pause.
	st.p.SwitchToCandidate()
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader))
	err := st.n.PauseApply()
	require_True(t, err != nil)
	require_Equal(t, err.Error(), "raft: already leader")
	st.expect(paused(false), heldCommit(0), inState(raftport.Leader))
}

// TestE2ENeedSnapshotOnceTwoApplied: a node without a snapshot asks for
// one once it applied more than one entry, not after one, and stops asking
// once one is installed.
func TestE2ENeedSnapshotOnceTwoApplied(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	require_False(t, st.n.NeedSnapshot())

	st.live(leader.after(0, 0).withEntry(), lastIndex(1))
	st.live(leader.after(1, 1).committing(1).withEntry(), lastIndex(2), committed(1))
	st.applied(1, appliedAt(1))
	require_False(t, st.n.NeedSnapshot())

	st.live(leader.after(1, 2).committing(2), committed(2))
	st.applied(2, appliedAt(2))
	require_True(t, st.n.NeedSnapshot())

	st.snapshot(snapshotAt(2), snapFileSet(true))
	require_False(t, st.n.NeedSnapshot())
}

// TestE2ESendSnapshotStoresSnapshotEntry: a snapshot the leader sends is
// stored as one snapshot entry with the data, and once committed and
// drained back it is what the apply queue holds, with applies paused.
func TestE2ESendSnapshotStoresSnapshotEntry(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0, nats1)
	st.becomeCandidate(inTerm(1))
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader), lastIndex(1))
	require_NoError(t, st.p.ApplyCommit(1))
	st.takeApplyQueue()

	require_NoError(t, st.n.SendSnapshot([]byte("state")))
	st.expect(lastIndex(2), committed(1), snapFileSet(false))
	spec, err := st.p.LoadEntry(2)
	require_NoError(t, err)
	require_Len(t, len(spec.Entries), 1)
	require_Equal(t, spec.Entries[0].Type, raftport.EntrySnapshot)
	require_Equal(t, string(spec.Entries[0].Data), "state")

	require_NoError(t, st.p.ApplyCommit(2))
	st.expect(committed(2), snapFileSet(true), lastSnapshot(1, 1), snapshotHolds("state"))
	st.takeApplyQueue()

	// Replayed, the snapshot is all the apply queue holds, and applies
	// wait for the upper layer to resume them.
	require_True(t, st.n.DrainAndReplaySnapshot())
	st.expect(paused(true), heldCommit(2), committed(1))
	st.applyQueueHolds(1, &raftport.Entry{Type: raftport.EntrySnapshot, Data: []byte("state")})
}

// TestE2ECheckpointFailures: a refused checkpoint is a nil checkpoint; a
// checkpoint whose snapshot cannot be written reports it, keeps the log
// and leaves no write error, and can be retried; one whose compaction
// fails reports that as the node's write error.
func TestE2ECheckpointFailures(t *testing.T) {
	st := stepNode(t)
	c, err := st.n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, raftport.ErrNoSnapAvailable)
	require_True(t, c == nil)

	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).withEntry(), lastIndex(1))
	st.live(leader.after(1, 1).committing(1).withEntry(), lastIndex(2), committed(1))
	st.applied(1, appliedAt(1))

	// The snapshots directory is a file: the snapshot cannot be written.
	dir := st.p.SnapshotsDir()
	require_NoError(t, os.RemoveAll(dir))
	require_NoError(t, os.WriteFile(dir, []byte("in the way"), 0o644))
	c = st.newCheckpoint()
	shrunk, err := c.InstallSnapshot([]byte("lost"))
	require_True(t, err != nil)
	require_Equal(t, shrunk, 0)
	st.expect(snapFileSet(false), snapshotAt(0), logSpans(1, 2), noWriteErr())

	// The checkpoint is over; the next one succeeds once the directory
	// can be made again, and compacts the log up to what was applied.
	require_NoError(t, os.Remove(dir))
	before := st.p.WALState().Bytes
	c = st.newCheckpoint()
	shrunk, err = c.InstallSnapshot([]byte("kept"))
	require_NoError(t, err)
	st.expect(snapFileSet(true), snapshotAt(1), logSpans(2, 2), snapshotHolds("kept"), lastSnapshot(1, 1), noWriteErr())
	require_Equal(t, shrunk, before-st.p.WALState().Bytes)
	require_True(t, shrunk > 0)

	// A failed compaction is a write error of the node.
	st.live(leader.after(1, 2).committing(2).withEntry(), lastIndex(3), committed(2))
	st.applied(2, appliedAt(2))
	st.p.ReplaceWAL(func(w storage.WAL) storage.WAL { return compactFails{w} })
	c = st.newCheckpoint()
	_, err = c.InstallSnapshot([]byte("newer"))
	require_Error(t, err, errCompactFails)
	st.expect(writeFailed(errCompactFails), snapshotAt(1), logSpans(2, 3))
	_, err = st.n.CreateSnapshotCheckpoint(true)
	require_Error(t, err, errCompactFails)
}

// compactFails is a log whose Compact always fails.
type compactFails struct {
	storage.WAL
}

var errCompactFails = errors.New("test: compact always fails")

func (compactFails) Compact(uint64) error { return errCompactFails }

// TestE2EOutOfResourcesDropsQueuedEntries: a tracked node past its host's
// storage budget takes its queued append entries off the queue without
// storing them.
func TestE2EOutOfResourcesDropsQueuedEntries(t *testing.T) {
	c, s := budgetHost(t)
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, 100)}
	st := c.stepNodeOn(s, nodeSetup{group: "DROPS", peers: []string{s.ID(), nats0}, track: true})
	st.live(aeFrom(nats0, 1).after(0, 0).carrying(big), lastIndex(1))
	require_True(t, st.p.OutOfResources())

	require_NoError(t, st.p.QueueAppendEntry(aeFrom(nats0, 1).after(1, 1).carrying(big).wire(t), st.p.AESub()))
	require_Equal(t, st.p.PendingAppendEntries(), 1)
	st.p.ProcessAppendEntries()
	require_Equal(t, st.p.PendingAppendEntries(), 0)
	st.expect(lastIndex(1), logHolds(1))
}

// TestE2EApplyCommitEdges: a leader's commit forgets the acks of the
// committed index, a commit at or below the commit index changes nothing
// and queues nothing, and a closed node refuses to commit.
func TestE2EApplyCommitEdges(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0, nats1)
	st.becomeCandidate(inTerm(1))
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader), lastIndex(1), committed(0))

	st.ack(ackFrom(nats0, 1, 1, true), committed(1))
	_, pending := st.p.Acks()[1]
	require_False(t, pending)
	// The entry a leader takes office with is its peer state, which is
	// the node's own business: the state machine gets an empty batch.
	st.applyQueueHolds(1)

	// Committing index 1 again is a no-op.
	require_NoError(t, st.p.ApplyCommit(1))
	st.expect(committed(1))
	require_Len(t, st.n.ApplyQ().Len(), 0)

	st.p.SendAppendEntry([]*raftport.Entry{normalEntry("x")})
	st.expect(lastIndex(2), committed(1))
	halt(st.n)
	require_Error(t, st.p.ApplyCommit(2), raftport.ErrNodeClosed)
	st.expect(committed(1))
	require_Len(t, st.n.ApplyQ().Len(), 0)
}

// TestE2EWriteErrorsSurfaceAndStick: which failures become the node's
// write error, that it then refuses to store entries or snapshot with it,
// and that a missing resource is only logged.
func TestE2EWriteErrorsSurfaceAndStick(t *testing.T) {
	c := createRaftCluster(t, "R1S", 0)
	logs := &logCapture{}
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) { cfg.Logger = slog.New(logs) })
	st := c.stepNodeOn(s, nodeSetup{group: "WERR"})
	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).withEntry(), lastIndex(1))
	st.live(leader.after(1, 1).committing(1), committed(1))
	st.applied(1, appliedAt(1))

	st.p.SetWriteErr(nil)
	st.expect(noWriteErr())
	st.p.SetWriteErr(storage.ErrClosed)
	st.p.SetWriteErr(fmt.Errorf("loading: %w", storage.ErrNotFound))
	st.expect(noWriteErr())
	missing := fmt.Errorf("opening: %w", os.ErrNotExist)
	st.p.SetWriteErr(missing)
	st.expect(noWriteErr(), inState(raftport.Follower))
	require_True(t, logs.contains("Storage reports a missing resource: "+missing.Error()))

	failed := errors.New("test: disk on fire")
	st.p.SetWriteErr(failed)
	st.expect(writeFailed(failed), inState(raftport.Follower))
	st.p.SetWriteErr(failed)
	st.expect(writeFailed(failed))

	// The write error is returned instead of storing or snapshotting.
	require_Error(t, st.p.StoreToWAL(leader.after(1, 1).withEntry().wire(t)), failed)
	st.expect(lastIndex(1), logHolds(1))
	require_Error(t, st.n.InstallSnapshot(nil, false), failed)
	_, err := st.n.CreateSnapshotCheckpoint(false)
	require_Error(t, err, failed)
	st.expect(snapshotAt(0), writeFailed(failed))
}

// TestE2ETermAndVoteSurviveRestart: the term and vote a node wrote are
// what it has after a restart.
func TestE2ETermAndVoteSurviveRestart(t *testing.T) {
	st := stepNode(t)
	resp := st.vote(askVote(nats0, 5, 0, 0), inTerm(5), votedFor(nats0))
	require_True(t, resp.Granted)
	st.restart()
	st.expect(inTerm(5), votedFor(nats0), inState(raftport.Follower))
}

// TestE2EVoteCodecRefusesWrongSizes: vote requests and responses decode
// only at their exact size; one byte short or long is refused.
func TestE2EVoteCodecRefusesWrongSizes(t *testing.T) {
	req := askVote(nats0, 3, 2, 7)
	wire := codec.EncodeVoteRequest(req)
	back, err := codec.DecodeVoteRequest(wire, "reply")
	require_NoError(t, err)
	req.Reply = "reply"
	require_Equal(t, back, req)
	for _, bad := range [][]byte{wire[:len(wire)-1], append(slices.Clone(wire), 0), nil} {
		got, err := codec.DecodeVoteRequest(bad, "reply")
		require_True(t, err != nil)
		require_Equal(t, got, voteAsk{})
	}

	resp := voteAnswer{Term: 3, Peer: nats1, Granted: true, Empty: true}
	wire = codec.EncodeVoteResponse(resp)
	gotResp, err := codec.DecodeVoteResponse(wire)
	require_NoError(t, err)
	require_Equal(t, gotResp, resp)
	for _, bad := range [][]byte{wire[:len(wire)-1], append(slices.Clone(wire), 0), nil} {
		got, err := codec.DecodeVoteResponse(bad)
		require_True(t, err != nil)
		require_Equal(t, got, voteAnswer{})
	}
}

// peerStatePayload lays out a peer state file's payload: cluster size,
// peer count, the peers' ids.
func peerStatePayload(clusterSize uint32, peers ...string) []byte {
	buf := binary.LittleEndian.AppendUint32(nil, clusterSize)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(peers)))
	for _, p := range peers {
		buf = append(buf, p...)
	}
	return buf
}

// TestE2EPeerStateFileDecoding starts nodes from peer state files written
// by hand: a file with a cluster size and no peers (no domain extension)
// is accepted, one cut inside its header or its peer list is refused.
func TestE2EPeerStateFileDecoding(t *testing.T) {
	c := createRaftCluster(t, "R1S", 1)
	host := c.servers[0]
	start := func(group string, payload []byte) (*stepped, error) {
		t.Helper()
		store := c.tempDir()
		require_NoError(t, storage.WriteFileAtomic(storage.OSFS{}, filepath.Join(store, "peers.idx"), payload))
		return c.adoptNode(host, &raftport.RaftConfig{Name: group, Store: store, Log: storage.NewMemWAL()})
	}

	st, err := start("EMPTY", peerStatePayload(3))
	require_NoError(t, err)
	st.expect(clusterSize(3))
	require_Len(t, len(st.n.Peers()), 0)

	st, err = start("TWO", peerStatePayload(2, host.ID(), nats0))
	require_NoError(t, err)
	st.expect(clusterSize(2))
	require_Len(t, len(st.n.Peers()), 2)

	for i, payload := range [][]byte{
		peerStatePayload(3)[:7],
		peerStatePayload(3)[:4],
		{},
		peerStatePayload(2, host.ID(), nats0)[:8+8+7],
	} {
		_, err := start(fmt.Sprintf("CUT%d", i), payload)
		require_True(t, err != nil)
		require_Contains(t, err.Error(), "corrupt peer state")
	}
}

// TestE2EProposalsAfterWaitedProposals alternates waited and plain
// proposals on a lone leader: every one of them reaches the log, in
// order. A plain proposal must not inherit the waiter of an earlier
// waited one, whose outcome is decided and which would withdraw it. With
// one P the proposal pool hands a plain proposal the entry a waited one
// just gave back.
func TestE2EProposalsAfterWaitedProposals(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	st := stepNode(t)
	st.becomeCandidate(inTerm(1))
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader), lastIndex(1))
	st.leaderLoopInBackground()

	var want []string
	for i := range 8 {
		waited, plain := fmt.Sprintf("waited-%d", i), fmt.Sprintf("plain-%d", i)
		_, err := st.n.ProposeWait(context.Background(), []byte(waited))
		require_NoError(t, err)
		require_NoError(t, st.n.Propose([]byte(plain)))
		want = append(want, waited, plain)
	}
	last, err := st.n.ProposeWait(context.Background(), []byte("last"))
	require_NoError(t, err)
	want = append(want, "last")

	var got []string
	for index := uint64(2); index <= last.Index; index++ {
		spec, err := st.p.LoadEntry(index)
		require_NoError(t, err)
		for _, e := range spec.Entries {
			if e.Type == raftport.EntryNormal {
				got = append(got, string(e.Data))
			}
		}
	}
	require_Equal(t, strings.Join(got, " "), strings.Join(want, " "))
}
