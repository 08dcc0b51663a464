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
	_, rg, leader := electedAdders(t, groupSpec{})
	tav := filepath.Join(probeOf(leader.node()).StoreDir(), storage.TermVoteFile)
	require_NoError(t, storage.WriteFileAtomic(storage.OSFS{}, tav, []byte{1, 2, 3, 4}))

	// Before the fix, restarting crashed; the group must be whole again.
	leader.stop()
	leader.restart()
	eventually(t, rg.everyNode(current))
}

// TestNRGRecoverPindexPtermOnlyIfLogNotEmpty ports test 2652: with its log
// and snapshots gone, only the term file remembers the past, and a
// restarted node must count its log as empty (pterm and pindex zero).
func TestNRGRecoverPindexPtermOnlyIfLogNotEmpty(t *testing.T) {
	_, rg, _ := electedAdders(t, groupSpec{})
	emptied := rg[0]
	require_NoError(t, probeOf(emptied.node()).WAL().Truncate(0))
	require_NoError(t, os.RemoveAll(filepath.Join(emptied.cfg.Store, storage.SnapshotsDir)))

	rg.stopAll()
	emptied.restart()
	r := probeOf(emptied.node()).Replication()
	require_Equal(t, r.PTerm, 0)
	require_Equal(t, r.PIndex, 0)
	require_True(t, r.Term > 0)
}

// holeWAL stands for a log whose storage lost entries in the middle, as the
// reference's file store does after a truncation cut short by a crash:
// the removed indexes fail to load while LastIndex still covers them.
type holeWAL struct {
	storage.WAL
	mu      *sync.Mutex
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

// TestNRGTruncateOnStartup ports test 2683: at startup the WAL is cut back
// to its last good entry, both when an entry went missing and when an
// entry does not follow its predecessor.
func TestNRGTruncateOnStartup(t *testing.T) {
	// Every (re)opened WAL shares one record of the lost indexes.
	var wal *holeWAL
	lost, mu := map[uint64]bool{}, &sync.Mutex{}
	st := createRaftCluster(t, "R3S", 3).stepNode(nodeSetup{onDisk: true, bareBootstrap: true,
		wrapLog: func(w storage.WAL) storage.WAL {
			wal = &holeWAL{WAL: w, mu: mu, removed: lost}
			return wal
		}})
	// entries, first and last index, and the indexes in range holding no
	// entry (the reference's NumDeleted).
	walIs := func(entries, first, last, deleted uint64) {
		t.Helper()
		s := wal.State()
		got := fmt.Sprint(s.Entries, s.FirstIndex, s.LastIndex, s.LastIndex-s.FirstIndex+1-s.Entries)
		require_Equal(t, got, fmt.Sprint(entries, first, last, deleted))
	}
	leader := aeFrom(nats0, 1).withEntry()
	second := leader.after(1, 1)

	st.live(leader.after(0, 0))
	st.live(second, lastIndex(2))
	walIs(2, 1, 2, 0)

	// A truncation that was only performed halfway before a hard kill:
	// truncated on startup, the entry being missing.
	wal.remove(2)
	walIs(1, 1, 2, 1)
	st.restart()
	walIs(1, 1, 1, 0)

	// An invalid append entry, stored by hand: truncated on startup, the
	// entry not following its predecessor.
	misplaced := second.after(1, 0)
	_, err := wal.Append(misplaced.Term, misplaced.wire(t).Bytes())
	require_NoError(t, err)
	walIs(2, 1, 2, 0)
	st.restart()
	walIs(1, 1, 1, 0)
}

// startupFlags checks the initializing, scale-up and observer flags.
func startupFlags(want nodeFlags) check {
	return field("startup flags", func(st *stepped) nodeFlags { return st.p.StartupFlags() }, want)
}

// TestNRGInitializeAndScaleUp ports test 2676: a member that initializes
// with an empty log (and possibly scales up as an observer) votes without
// claiming an empty log, and the first data from a leader, stored or
// installed from a snapshot in a catchup, ends initializing, scale-up and
// observer mode; after a WAL reset its vote is empty again unless
// initializing.
func TestNRGInitializeAndScaleUp(t *testing.T) {
	st := stepNode(t)
	votes := st.c.watch("$TEST", 8)
	// castVote has the node vote for candidate in term and returns the
	// answer it sent, which must grant the vote.
	castVote := func(candidate string, term uint64, checks ...check) voteAnswer {
		t.Helper()
		req := askVote(candidate, term, 0, 0)
		req.Reply = "$TEST"
		st.vote(req, append([]check{inTerm(term), votedFor(candidate)}, checks...)...)
		msg := require_ChanRead(t, votes, time.Second)
		vr, err := codec.DecodeVoteResponse(msg.Data)
		require_NoError(t, err)
		require_True(t, vr.Granted)
		return vr
	}
	startingUp := func() {
		st.p.SetInitializing(true)
		st.p.SetScaleUp(true)
		st.n.SetObserver(true)
	}
	allStartupFlags := nodeFlags{Initializing: true, ScaleUp: true, Observer: true}

	st.expect(field("initializing", func(st *stepped) bool { return st.p.StartupFlags().Initializing }, true))
	startingUp()
	st.expect(inTerm(0))

	// Voting for a new leader keeps the flags, and the vote claims no
	// empty log, to ease getting a quorum.
	require_False(t, castVote(nats0, 1, startupFlags(allStartupFlags)).Empty)

	// An append entry ends them all.
	st.live(aeFrom(nats0, 1).after(0, 0).committing(1).withEntry(), lastIndex(1), startupFlags(nodeFlags{}))

	// After a WAL reset the vote is granted but marked empty.
	st.p.ResetWAL()
	st.expect(lastIndex(0))
	require_True(t, castVote("_random_", 2).Empty)

	// A snapshot in a catchup ends them too.
	startingUp()
	snapshot := aeFrom(nats0, 2).after(1, 1).committing(1).carrying(st.snapshotEntries()...)
	_, err := st.p.CreateCatchup(snapshot.wire(t))
	require_NoError(t, err)
	st.catchup(snapshot, startupFlags(nodeFlags{}))

	// Initializing without scaling up after a reset: not an empty vote
	// either.
	st.p.ResetWAL()
	st.expect(lastIndex(0))
	st.p.SetInitializing(true)
	require_False(t, castVote("_random_", 3).Empty)
}

// TestStateFileLayouts checks peers.idx and tav.idx: the reference's field
// layouts inside checksummed files, a vote persisted as it is cast, a
// damaged term file refusing the restart (naming the file) rather than
// letting the node forget its vote, and a failed write recorded as the
// node's write error.
func TestStateFileLayouts(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
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

	st, err := c.adoptNode(s, cfg)
	require_NoError(t, err)
	require_True(t, st.vote(askVote(nats0, 5, 0, 0)).Granted)

	tavPath := filepath.Join(store, storage.TermVoteFile)
	tav, err := storage.ReadFileChecked(storage.OSFS{}, tavPath)
	require_NoError(t, err)
	require_Len(t, len(tav), 16)
	require_Equal(t, le.Uint64(tav), 5)
	require_Equal(t, string(tav[8:]), nats0)

	// A restart recovers the term and vote.
	st.restart()
	st.expect(inTerm(5), votedFor(nats0))

	// Damage the term file: the restart must refuse, naming the file,
	// rather than forget whom it voted for and vote again in that term.
	raw, err := os.ReadFile(tavPath)
	require_NoError(t, err)
	raw[0] ^= 0xff
	require_NoError(t, os.WriteFile(tavPath, raw, 0o644))
	err = st.tryRestart()
	require_Error(t, err, storage.ErrCorrupt)
	require_Contains(t, err.Error(), tavPath)
	// Without the file the node starts from term 0.
	require_NoError(t, os.Remove(tavPath))
	st.restart()
	st.expect(inTerm(0), votedFor(""))

	// Make the store directory unusable: the next term change cannot be
	// persisted and becomes the node's write error.
	require_NoError(t, os.RemoveAll(store))
	require_NoError(t, os.WriteFile(store, []byte("not a directory"), 0o644))
	require_True(t, st.state().WriteErr == nil)
	st.vote(askVote(nats0, 6, 0, 0))
	require_True(t, st.state().WriteErr != nil)
}

// TestWriteErrorHandling checks which storage failures stop a node from
// writing: a closed store or a missing entry is not a write failure, a
// missing file is only logged, any other error is kept, and a full disk
// stops every node of the host, which all share that disk.
func TestWriteErrorHandling(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	one, two := c.stepNode(nodeSetup{group: "ONE"}), c.stepNode(nodeSetup{group: "TWO"})

	for _, benign := range []error{
		storage.ErrClosed,
		fmt.Errorf("loading: %w", storage.ErrNotFound),
		fmt.Errorf("opening: %w", os.ErrNotExist),
	} {
		one.p.SetWriteErr(benign)
		require_True(t, one.state().WriteErr == nil)
	}

	failed := errors.New("disk controller on fire")
	one.p.SetWriteErr(failed)
	one.expect(writeFailed(failed), inState(raftport.Follower))
	two.expect(inState(raftport.Follower))

	one.p.SetWriteErr(fmt.Errorf("append: %w", syscall.ENOSPC))
	one.expect(inState(raftport.Closed))
	two.expect(inState(raftport.Closed))
}
