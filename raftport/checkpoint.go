package raftport

import (
	"errors"
	"iter"
)

// errSnapIndexMismatch says another snapshot was installed after the
// checkpoint was taken, so the checkpoint's base is gone.
var errSnapIndexMismatch = errors.New("raft: snapshot index mismatch")

// CreateSnapshotCheckpoint starts an asynchronous snapshot. The caller holds
// at most one checkpoint at a time and ends it with InstallSnapshot or
// Abort.
func (n *raft) CreateSnapshotCheckpoint(force bool) (RaftNodeCheckpoint, error) {
	var c *checkpoint
	var err error
	n.underLock(func() { c, err = n.createSnapshotCheckpointLocked(force) })
	if c == nil {
		// A nil *checkpoint in the interface would not compare equal to nil.
		return nil, err
	}
	return c, err
}

// createSnapshotCheckpointLocked pins what a snapshot taken now covers: the
// applied index, the term of that entry and the peer state. Lock held.
func (n *raft) createSnapshotCheckpointLocked(force bool) (*checkpoint, error) {
	if err := n.checkpointRefusal(force); err != nil {
		return nil, err
	}
	term, ok := n.storedTerm(n.applied)
	if !ok {
		n.debug("Skipping snapshot: applied entry %d is gone from the log", n.applied)
		return nil, errNoSnapAvailable
	}
	n.snapshotting = true
	c := &checkpoint{n: n, term: term, applied: n.applied, papplied: n.papplied}
	c.snapFile = n.snapFilePath(term, n.applied)
	c.peerstate = encodePeerState(&peerState{n.peerNames(), n.csz, n.extSt})
	return c, nil
}

// checkpointRefusal says why no checkpoint may start now, if anything
// stands in the way. Followers being caught up read the log a snapshot
// would compact; force overrides that, so a long catchup cannot let the
// log grow forever. Lock held.
func (n *raft) checkpointRefusal(force bool) error {
	switch {
	case n.State() == Closed:
		return errNodeClosed
	case n.snapshotting:
		return errSnapInProgress
	case n.werr != nil:
		return n.werr
	case !force && n.catchupsRunning() > 0:
		return errCatchupsRunning
	case n.applied == 0:
		n.debug("Skipping snapshot: nothing applied yet")
		return errNoSnapAvailable
	}
	return nil
}

// held runs f under the node lock while the checkpoint is in force;
// once it was aborted or superseded, f does not run and the answer is
// errSnapAborted.
func (c *checkpoint) held(f func(n *raft) error) error {
	err := errSnapAborted
	c.n.underLock(func() {
		if c.n.snapshotting {
			err = f(c.n)
		}
	})
	return err
}

// unlocked runs slow I/O without the node lock, which the caller holds,
// and reports its error, or errSnapAborted when the checkpoint ended
// meanwhile.
func (c *checkpoint) unlocked(io func() error) error {
	c.n.Unlock()
	err := io()
	c.n.Lock()
	if err == nil && !c.n.snapshotting {
		err = errSnapAborted
	}
	return err
}

// snapshotOf is the snapshot the checkpoint makes of data.
func (c *checkpoint) snapshotOf(data []byte) *snapshot {
	return &snapshot{lastTerm: c.term, lastIndex: c.applied, peerstate: c.peerstate, data: data}
}

// LoadLastSnapshot returns the data of the snapshot this checkpoint builds
// on; errSnapIndexMismatch when another snapshot replaced it since.
func (c *checkpoint) LoadLastSnapshot() (data []byte, err error) {
	err = c.held(func(n *raft) error {
		snap, err := n.loadLastSnapshot()
		if err == nil && snap.lastIndex != c.papplied {
			err = errSnapIndexMismatch
		}
		if err == nil {
			data = snap.data
		}
		return err
	})
	return data, err
}

// AppendEntriesSeq yields the log entries the new snapshot will replace,
// loading each under the lock and yielding it without, so the node keeps
// running while the caller builds its state. It stops with errSnapAborted
// once the checkpoint is aborted or superseded.
func (c *checkpoint) AppendEntriesSeq() iter.Seq2[LogEntry, error] {
	return func(yield func(LogEntry, error) bool) {
		next := c.papplied + 1
		for more := next <= c.applied; more; next++ {
			var ae *appendEntry
			err := c.held(func(n *raft) (err error) {
				ae, err = n.loadEntry(next)
				return err
			})
			if err != nil {
				yield(LogEntry{}, err)
				return
			}
			more = yield(LogEntry{Index: next, Term: ae.term, Entries: ae.entries}, nil) && next < c.applied
			ae.returnToPool()
		}
	}
}

// Abort ends the checkpoint without installing anything.
func (c *checkpoint) Abort() { c.n.underLock(c.n.endSnapshotting) }

// InstallSnapshot writes data as the snapshot of the checkpoint and
// compacts the log, releasing the lock for the file write and the
// compaction. It returns the bytes the log shrank by. If the checkpoint was
// aborted meanwhile (InstallSnapshot on the node ends it too), nothing more
// is changed and errSnapAborted is returned. Either way the checkpoint is
// over.
func (c *checkpoint) InstallSnapshot(data []byte) (shrunk uint64, err error) {
	err = c.held(func(n *raft) error {
		defer n.endSnapshotting()
		n.debug("Writing a %d byte snapshot at [%d:%d]", len(data), c.term, c.applied)
		encoded := n.encodeSnapshot(c.snapshotOf(data))
		// A failed write is no write error of the node: the log is intact
		// and the snapshot can be retried.
		if err := c.unlocked(func() error { return writeSnapshotFile(c.snapFile, encoded) }); err != nil {
			return err
		}
		n.replaceSnapFile(c.snapFile)
		if err := c.unlocked(func() error { return n.wal.Compact(c.applied + 1) }); err != nil {
			if !errors.Is(err, errSnapAborted) {
				n.setWriteErrLocked(err)
			}
			return err
		}
		before := n.bytes
		n.compacted(c.applied)
		shrunk = before - min(before, n.bytes)
		return nil
	})
	return shrunk, err
}
