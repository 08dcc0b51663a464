package raftport

// The window on a node's storage: its directories, its log and its
// snapshots.

import (
	"path/filepath"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

func (w window) StoreDir() string     { return reading(w, func(n *raft) string { return n.sd }) }
func (w window) SnapshotsDir() string { return filepath.Join(w.StoreDir(), snapshotsDir) }
func (w window) SnapFile() string     { return reading(w, func(n *raft) string { return n.snapfile }) }

func (w window) WAL() storage.WAL { return reading(w, func(n *raft) storage.WAL { return n.wal }) }

func (w window) WALState() storage.State { return w.n.wal.State() }

func (w window) ReplaceWAL(wrap func(storage.WAL) storage.WAL) {
	w.set(func(n *raft) { n.wal = wrap(n.wal) })
}

func (w window) LoadEntry(index uint64) (aeSpec, error) {
	ae, err := reading(w, func(n *raft) result[*appendEntry] { return resultOf(n.loadEntry(index)) }).get()
	if err != nil {
		return aeSpec{}, err
	}
	return specOf(ae), nil
}

func (w window) StoreToWAL(msg *aeMsg) error {
	return changing(w, func(*raft) error { return w.StoreToWALLocked(msg) })
}

func (w window) StoreToWALLocked(msg *aeMsg) error {
	ae, err := received(msg, raftprobe.Sub{})
	if err != nil {
		return err
	}
	return w.n.storeToWAL(ae)
}

func (w window) TruncateWAL(term, index uint64) {
	w.set(func(*raft) { w.TruncateWALLocked(term, index) })
}

func (w window) TruncateWALLocked(term, index uint64) { w.n.truncateWAL(term, index) }

func (w window) ResetWAL() { w.set((*raft).resetWAL) }

func (w window) LoadLastSnapshot() (raftprobe.SnapshotView, error) {
	snap, err := changing(w, func(n *raft) result[*snapshot] { return resultOf(n.loadLastSnapshot()) }).get()
	if err != nil {
		return raftprobe.SnapshotView{}, err
	}
	return raftprobe.SnapshotView{LastTerm: snap.lastTerm, LastIndex: snap.lastIndex,
		PeerState: snap.peerstate, Data: snap.data}, nil
}

// InstallSnapshotInternal installs a snapshot as one received from the
// leader is installed: without a checkpoint, ending any in progress.
func (w window) InstallSnapshotInternal(v raftprobe.SnapshotView) error {
	snap := &snapshot{lastTerm: v.LastTerm, lastIndex: v.LastIndex, peerstate: v.PeerState, data: v.Data}
	return changing(w, func(n *raft) error { return n.installSnapshot(snap) })
}

func (w window) SetupLastSnapshot() error { return w.n.setupLastSnapshot() }

// result carries a value and an error out of a locked section.
type result[T any] struct {
	v   T
	err error
}

func resultOf[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get() (T, error) { return r.v, r.err }
