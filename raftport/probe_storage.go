package raftport

// The window on a node's storage: its directories, its log and its
// snapshots.

import (
	"path/filepath"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

func (w nodeWindow) StoreDir() string     { return windowRead(w, func(n *raft) string { return n.sd }) }
func (w nodeWindow) SnapshotsDir() string { return filepath.Join(w.StoreDir(), snapshotsDir) }
func (w nodeWindow) SnapFile() string {
	return windowRead(w, func(n *raft) string { return n.snapfile })
}

func (w nodeWindow) WAL() storage.WAL {
	return windowRead(w, func(n *raft) storage.WAL { return n.wal })
}

func (w nodeWindow) WALState() storage.State { return w.n.wal.State() }

func (w nodeWindow) ReplaceWAL(wrap func(storage.WAL) storage.WAL) {
	w.set(func(n *raft) { n.wal = wrap(n.wal) })
}

func (w nodeWindow) LoadEntry(index uint64) (probeSpec, error) {
	ae, err := windowRead(w, func(n *raft) windowResult[*appendEntry] { return windowResultOf(n.loadEntry(index)) }).get()
	if err != nil {
		return probeSpec{}, err
	}
	return probeSpecOf(ae), nil
}

func (w nodeWindow) StoreToWAL(msg *probeMsg) error {
	return windowChange(w, func(*raft) error { return w.StoreToWALLocked(msg) })
}

func (w nodeWindow) StoreToWALLocked(msg *probeMsg) error {
	ae, err := probeDecode(msg, raftprobe.Sub{})
	if err != nil {
		return err
	}
	return w.n.storeToWAL(ae)
}

func (w nodeWindow) TruncateWAL(term, index uint64) {
	w.set(func(*raft) { w.TruncateWALLocked(term, index) })
}

func (w nodeWindow) TruncateWALLocked(term, index uint64) { w.n.truncateWAL(term, index) }

func (w nodeWindow) ResetWAL() { w.set((*raft).resetWAL) }

func (w nodeWindow) LoadLastSnapshot() (raftprobe.SnapshotView, error) {
	snap, err := windowChange(w, func(n *raft) windowResult[*snapshot] { return windowResultOf(n.loadLastSnapshot()) }).get()
	if err != nil {
		return raftprobe.SnapshotView{}, err
	}
	return raftprobe.SnapshotView{LastTerm: snap.lastTerm, LastIndex: snap.lastIndex,
		PeerState: snap.peerstate, Data: snap.data}, nil
}

// InstallSnapshotInternal installs a snapshot as one received from the
// leader is installed: without a checkpoint, ending any in progress.
func (w nodeWindow) InstallSnapshotInternal(v raftprobe.SnapshotView) error {
	snap := &snapshot{lastTerm: v.LastTerm, lastIndex: v.LastIndex, peerstate: v.PeerState, data: v.Data}
	return windowChange(w, func(n *raft) error { return n.installSnapshot(snap) })
}

func (w nodeWindow) SetupLastSnapshot() error { return w.n.setupLastSnapshot() }

// windowResult carries a value and an error out of a locked section.
type windowResult[T any] struct {
	v   T
	err error
}

func windowResultOf[T any](v T, err error) windowResult[T] { return windowResult[T]{v, err} }

func (r windowResult[T]) get() (T, error) { return r.v, r.err }
