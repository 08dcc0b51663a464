package raftport_test

// Ported startup and recovery tests, and checks of the state files.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// TestNRGInvalidTAVDoesntPanic ports test 2630: a term-and-vote file too
// short to hold a term does not crash the restart, and the group recovers.
// The file is written as a valid checked file with a 4-byte payload, which
// is what reaches the term decoding (a raw 4-byte file would already fail
// its checksum and never get that far).
func TestNRGInvalidTAVDoesntPanic(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)

	// Mangle the TAV file to a short length (less than uint64).
	tav := filepath.Join(raftport.NewProbe(leader.node()).StoreDir(), storage.TermVoteFile)
	require_NoError(t, storage.WriteFileAtomic(storage.OSFS{}, tav, []byte{1, 2, 3, 4}))

	// Restart the node.
	leader.stop()
	leader.restart()

	// Before the fix, a crash would have happened before this point.
	waitOnAllCurrent(t, rg)
}

// waitOnAllCurrent waits for every member to have a leader and be caught
// up with it, the group-level form of the reference's c.waitOnAllCurrent.
func waitOnAllCurrent(t *testing.T, rg smGroup) {
	t.Helper()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, sm := range rg {
			if !sm.node().Current() {
				return fmt.Errorf("%s is not current", sm.server().Name())
			}
		}
		return nil
	})
}

// TestNRGRecoverPindexPtermOnlyIfLogNotEmpty ports test 2652: with its log
// and snapshots gone, only the term file remembers the past, and a
// restarted node must count its log as empty (pterm and pindex zero).
func TestNRGRecoverPindexPtermOnlyIfLogNotEmpty(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	require_NotNil(t, rg.waitOnLeader())

	gn := rg[0].(*stateAdder)
	p := raftport.NewProbe(rg[0].node())

	// Delete the entries and snapshots, leaving the only remaining trace of
	// the term in the TAV file.
	require_NoError(t, p.WAL().Truncate(0))
	require_NoError(t, os.RemoveAll(filepath.Join(gn.cfg.Store, storage.SnapshotsDir)))

	for _, gn := range rg {
		gn.stop()
	}
	rg[0].restart()
	rs := raftport.NewProbe(rg[0].node()).Replication()

	// Both should be zero as, without any snapshots or log entries, the log
	// is considered empty and therefore we account as such.
	require_Equal(t, rs.PTerm, 0)
	require_Equal(t, rs.PIndex, 0)
	require_True(t, rs.Term > 0)
}

// holeWAL stands for a log whose storage lost entries in the middle, as the
// reference's file store does after a truncation cut short by a crash:
// the removed indexes fail to load while LastIndex still covers them.
type holeWAL struct {
	storage.WAL
	mu      sync.Mutex
	removed map[uint64]bool
}

func (w *holeWAL) remove(index uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removed[index] = true
}

func (w *holeWAL) Load(index uint64) (uint64, []byte, error) {
	w.mu.Lock()
	gone := w.removed[index]
	w.mu.Unlock()
	if gone {
		return 0, nil, storage.ErrNotFound
	}
	return w.WAL.Load(index)
}

func (w *holeWAL) State() storage.State {
	st := w.WAL.State()
	w.mu.Lock()
	defer w.mu.Unlock()
	for index := range w.removed {
		if index >= st.FirstIndex && index <= st.LastIndex {
			st.Entries--
		}
	}
	return st
}

func (w *holeWAL) Truncate(index uint64) error {
	if err := w.WAL.Truncate(index); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.removed {
		if i > index {
			delete(w.removed, i)
		}
	}
	return nil
}

// numDeleted is the reference's NumDeleted: indexes in range that hold no
// entry.
func numDeleted(st storage.State) uint64 {
	if st.LastIndex < st.FirstIndex {
		return 0
	}
	return st.LastIndex - st.FirstIndex + 1 - st.Entries
}

// TestNRGTruncateOnStartup ports test 2683: at startup the WAL is cut back
// to its last good entry, both when an entry went missing and when an
// entry does not follow its predecessor.
func TestNRGTruncateOnStartup(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	s := c.servers[0]
	defer c.shutdown()

	storeDir, walDir := t.TempDir(), t.TempDir()
	wal := &holeWAL{WAL: openFileWAL(t, walDir), removed: make(map[uint64]bool)}
	cfg := &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: wal}

	require_NoError(t, s.BootstrapRaftNode(cfg, nil, false))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)

	// A sample entry; the content does not matter, only that it is stored.
	entries := []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte("foo")}}
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})

	// Store two entries the normal way.
	require_NoError(t, p.ProcessAppendEntry(aeMsg1, p.AESub()))
	require_NoError(t, p.ProcessAppendEntry(aeMsg2, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 2)

	checkState := func(entries, first, last, deleted uint64) {
		t.Helper()
		st := wal.State()
		require_Equal(t, st.Entries, entries)
		require_Equal(t, st.FirstIndex, first)
		require_Equal(t, st.LastIndex, last)
		require_Equal(t, numDeleted(st), deleted)
	}
	checkState(2, 1, 2, 0)

	// Simulate a truncation that was only performed halfway before a hard
	// kill.
	wal.remove(2)
	checkState(1, 1, 2, 1)

	restart := func() {
		t.Helper()
		n.Stop()
		n.WaitForStop()
		wal = &holeWAL{WAL: openFileWAL(t, walDir), removed: wal.removed}
		cfg = &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: wal}
		n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
		require_NoError(t, err)
	}
	restart()

	// The WAL is truncated on startup: the entry was missing.
	checkState(1, 1, 1, 0)

	// Store an invalid append entry manually.
	spec := aeMsg2.Spec()
	spec.PIndex = 0
	aeMsg2 = encode(t, spec)
	_, err = wal.Append(spec.Term, aeMsg2.Bytes())
	require_NoError(t, err)
	checkState(2, 1, 2, 0)

	restart()

	// The WAL is truncated on startup: the append entry is invalid.
	checkState(1, 1, 1, 0)
	n.Stop()
}

// TestNRGInitializeAndScaleUp ports test 2676: a member that initializes
// with an empty log (and possibly scales up as an observer) votes without
// claiming an empty log, and the first data from a leader, stored or
// installed from a snapshot in a catchup, ends initializing, scale-up and
// observer mode; after a WAL reset its vote is empty again unless
// initializing.
func TestNRGInitializeAndScaleUp(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)

	entries := []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte("foo")}}

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: entries})

	require_True(t, p.StartupFlags().Initializing)
	p.SetScaleUp(true)
	n.SetObserver(true)
	require_Equal(t, p.Replication().Term, 0)

	voteReply := "$TEST"
	replies, sub := chanSubscribe(t, c.client(), voteReply, 8)
	defer sub.Unsubscribe()
	nextVote := func() raftport.VoteResponseSpec {
		t.Helper()
		msg := require_ChanRead(t, replies, time.Second)
		vr, err := raftport.DecodeVoteResponse(msg.Data)
		require_NoError(t, err)
		return vr
	}
	checkVoted := func(term uint64, vote string) {
		t.Helper()
		rs := p.Replication()
		require_Equal(t, rs.Term, term)
		require_Equal(t, rs.Vote, vote)
	}
	checkFlags := func(want raftport.StartupFlags) {
		t.Helper()
		require_Equal(t, p.StartupFlags(), want)
	}

	// Votes on a new leader, and resets the notion of an "empty vote" to
	// ease getting quorum.
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 1, Candidate: nats0, Reply: voteReply})
	checkVoted(1, nats0)
	checkFlags(raftport.StartupFlags{Initializing: true, ScaleUp: true, Observer: true})

	vr := nextVote()
	require_True(t, vr.Granted)
	require_False(t, vr.Empty)

	// Processing an append entry resets scale up and takes us out of
	// observer mode.
	require_NoError(t, p.ProcessAppendEntry(aeMsg, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 1)
	checkFlags(raftport.StartupFlags{})

	// Simulate a reset.
	p.ResetWAL()
	require_Equal(t, p.Replication().PIndex, 0)

	// Vote after a WAL reset must be an "empty vote".
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 2, Candidate: "_random_", Reply: voteReply})
	checkVoted(2, "_random_")

	// Vote is still granted, but now marked as "empty".
	vr = nextVote()
	require_True(t, vr.Granted)
	require_True(t, vr.Empty)

	// Reset to check that a snapshot in a catchup also resets this.
	p.SetInitializing(true)
	p.SetScaleUp(true)
	n.SetObserver(true)
	snapshotEntries := []*raftport.Entry{
		{Type: raftport.EntrySnapshot},
		p.PeerStateEntry(),
	}
	aeSnapshot := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: snapshotEntries})
	_, err := p.CreateCatchup(aeSnapshot)
	require_NoError(t, err)
	require_NoError(t, p.ProcessAppendEntry(aeSnapshot, p.CatchupSub()))
	checkFlags(raftport.StartupFlags{})

	// Simulate a reset.
	p.ResetWAL()
	require_Equal(t, p.Replication().PIndex, 0)

	// Vote when initializing but not scaling up must also NOT be an "empty
	// vote".
	p.SetInitializing(true)
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 3, Candidate: "_random_", Reply: voteReply})
	checkVoted(3, "_random_")

	vr = nextVote()
	require_True(t, vr.Granted)
	require_False(t, vr.Empty)
}

// TestStateFileLayouts checks peers.idx and tav.idx: the reference's field
// layouts inside checksummed files, a vote persisted as it is cast, a
// damaged term file ignored on restart rather than read as a term, and a
// failed write recorded as the node's write error.
func TestStateFileLayouts(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]
	le := binary.LittleEndian

	peers := []string{s.ID(), nats0, nats1}
	store := t.TempDir()
	cfg := &raftport.RaftConfig{Name: "FILES", Store: store, Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, peers, true))

	ps, err := storage.ReadFileChecked(storage.OSFS{}, filepath.Join(store, storage.PeerStateFile))
	require_NoError(t, err)
	require_Len(t, len(ps), 4+4+3*8+2)
	require_Equal(t, le.Uint32(ps[0:]), 3)
	require_Equal(t, le.Uint32(ps[4:]), 3)
	for i, id := range peers {
		require_Equal(t, string(ps[8+8*i:16+8*i]), id)
	}
	require_Equal(t, le.Uint16(ps[32:]), 0)

	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	candidate := nats0
	vr := p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 5, Candidate: candidate})
	require_True(t, vr.Granted)

	tavPath := filepath.Join(store, storage.TermVoteFile)
	tav, err := storage.ReadFileChecked(storage.OSFS{}, tavPath)
	require_NoError(t, err)
	require_Len(t, len(tav), 16)
	require_Equal(t, le.Uint64(tav), 5)
	require_Equal(t, string(tav[8:]), candidate)

	// A restart recovers the term and vote.
	n.Stop()
	cfg.Log = storage.NewMemWAL()
	n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	rs := p.Replication()
	require_Equal(t, rs.Term, 5)
	require_Equal(t, rs.Vote, candidate)

	// Damage the term file: the restart must refuse, naming the file,
	// rather than forget whom it voted for and vote again in that term.
	raw, err := os.ReadFile(tavPath)
	require_NoError(t, err)
	raw[0] ^= 0xff
	require_NoError(t, os.WriteFile(tavPath, raw, 0o644))
	n.Stop()
	cfg.Log = storage.NewMemWAL()
	_, _, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_Error(t, err, storage.ErrCorrupt)
	require_Contains(t, err.Error(), tavPath)
	// Without the file the node starts from term 0.
	require_NoError(t, os.Remove(tavPath))
	cfg.Log = storage.NewMemWAL()
	n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	rs = p.Replication()
	require_Equal(t, rs.Term, 0)
	require_Equal(t, rs.Vote, "")

	// Make the store directory unusable: the next term change cannot be
	// persisted and becomes the node's write error.
	require_NoError(t, os.RemoveAll(store))
	require_NoError(t, os.WriteFile(store, []byte("not a directory"), 0o644))
	require_True(t, p.Replication().WriteErr == nil)
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 6, Candidate: candidate})
	require_True(t, p.Replication().WriteErr != nil)
	n.Stop()
}

// TestWriteErrorHandling checks which storage failures stop a node from
// writing: a closed store or a missing entry is not a write failure, a
// missing file is only logged, any other error is kept, and a full disk
// stops every node of the host, which all share that disk.
func TestWriteErrorHandling(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]

	start := func(group string) (raftport.RaftNode, *raftport.Probe) {
		t.Helper()
		cfg := &raftport.RaftConfig{Name: group, Store: t.TempDir(), Log: storage.NewMemWAL()}
		require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
		n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
		require_NoError(t, err)
		return n, p
	}
	n1, p1 := start("ONE")
	n2, _ := start("TWO")

	for _, benign := range []error{
		storage.ErrClosed,
		fmt.Errorf("loading: %w", storage.ErrNotFound),
		fmt.Errorf("opening: %w", os.ErrNotExist),
	} {
		p1.SetWriteErr(benign)
		require_True(t, p1.Replication().WriteErr == nil)
	}

	failed := errors.New("disk controller on fire")
	p1.SetWriteErr(failed)
	require_Error(t, p1.Replication().WriteErr, failed)
	require_Equal(t, n1.State(), raftport.Follower)
	require_Equal(t, n2.State(), raftport.Follower)

	full := fmt.Errorf("append: %w", syscall.ENOSPC)
	p1.SetWriteErr(full)
	require_Equal(t, n1.State(), raftport.Closed)
	require_Equal(t, n2.State(), raftport.Closed)
}
