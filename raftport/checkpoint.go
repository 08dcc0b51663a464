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
	n.Lock()
	defer n.Unlock()
	c, err := n.createSnapshotCheckpointLocked(force)
	if err != nil {
		// A nil *checkpoint in the interface would not compare equal to nil.
		return nil, err
	}
	return c, nil
}

// createSnapshotCheckpointLocked pins what a snapshot taken now covers: the
// applied index, the term of that entry and the peer state.
// The caller holds the node lock.
func (n *raft) createSnapshotCheckpointLocked(force bool) (*checkpoint, error) {
	if n.State() == Closed {
		return nil, errNodeClosed
	}
	if n.snapshotting {
		return nil, errSnapInProgress
	}
	if n.werr != nil {
		return nil, n.werr
	}
	// Followers being caught up read the log we would compact. force
	// overrides that, so a long catchup cannot let the log grow forever.
	if !force && n.catchupsRunning() > 0 {
		return nil, errCatchupsRunning
	}
	if n.applied == 0 {
		n.debug("Skipping snapshot: nothing applied yet")
		return nil, errNoSnapAvailable
	}
	ae, err := n.loadEntry(n.applied)
	if err != nil || ae == nil {
		n.debug("Skipping snapshot: applied entry %d is gone from the log", n.applied)
		return nil, errNoSnapAvailable
	}
	term := ae.term
	ae.returnToPool()

	n.snapshotting = true
	return &checkpoint{
		n:         n,
		term:      term,
		applied:   n.applied,
		papplied:  n.papplied,
		snapFile:  n.snapFilePath(term, n.applied),
		peerstate: encodePeerState(&peerState{n.peerNames(), n.csz, n.extSt}),
	}, nil
}

// LoadLastSnapshot returns the data of the snapshot this checkpoint builds
// on.
func (c *checkpoint) LoadLastSnapshot() ([]byte, error) {
	c.n.Lock()
	defer c.n.Unlock()
	if !c.n.snapshotting {
		return nil, errSnapAborted
	}
	snap, err := c.n.loadLastSnapshot()
	if err != nil {
		return nil, err
	}
	if snap.lastIndex != c.papplied {
		return nil, errSnapIndexMismatch
	}
	return snap.data, nil
}

// AppendEntriesSeq yields the log entries the new snapshot will replace,
// loading each under the lock and yielding it without, so the node keeps
// running while the caller builds its state. It stops with errSnapAborted
// once the checkpoint is aborted or superseded.
func (c *checkpoint) AppendEntriesSeq() iter.Seq2[LogEntry, error] {
	return func(yield func(LogEntry, error) bool) {
		for index := c.papplied + 1; index <= c.applied; index++ {
			c.n.Lock()
			if !c.n.snapshotting {
				c.n.Unlock()
				yield(LogEntry{}, errSnapAborted)
				return
			}
			ae, err := c.n.loadEntry(index)
			c.n.Unlock()
			if err != nil {
				yield(LogEntry{}, err)
				return
			}
			more := yield(LogEntry{Index: index, Term: ae.term, Entries: ae.entries}, nil)
			ae.returnToPool()
			if !more {
				return
			}
		}
	}
}

// Abort ends the checkpoint without installing anything.
func (c *checkpoint) Abort() {
	c.n.Lock()
	defer c.n.Unlock()
	c.n.snapshotting = false
}

// InstallSnapshot writes data as the snapshot of the checkpoint and
// compacts the log, releasing the lock for the file write and the
// compaction. It returns the bytes the log shrank by. If the checkpoint was
// aborted meanwhile (InstallSnapshot on the node ends it too), nothing more
// is changed and errSnapAborted is returned.
func (c *checkpoint) InstallSnapshot(data []byte) (uint64, error) {
	n := c.n
	n.Lock()
	defer n.Unlock()
	if !n.snapshotting {
		return 0, errSnapAborted
	}
	defer func() { n.snapshotting = false }()

	n.debug("Writing a %d byte snapshot at [%d:%d]", len(data), c.term, c.applied)
	encoded := n.encodeSnapshot(&snapshot{
		lastTerm:  c.term,
		lastIndex: c.applied,
		peerstate: c.peerstate,
		data:      data,
	})

	n.Unlock()
	err := writeSnapshotFile(c.snapFile, encoded)
	n.Lock()
	if err != nil {
		// Not a write error of the node: the log is intact, retry later.
		return 0, err
	}
	if !n.snapshotting {
		return 0, errSnapAborted
	}
	if n.snapfile != "" && n.snapfile != c.snapFile {
		n.removeSnapFile(n.snapfile)
	}
	n.snapfile = c.snapFile

	n.Unlock()
	err = n.wal.Compact(c.applied + 1)
	n.Lock()
	if err != nil {
		n.setWriteErrLocked(err)
		return 0, err
	}
	if !n.snapshotting {
		return 0, errSnapAborted
	}

	before := n.bytes
	n.papplied = c.applied
	n.bytes = n.wal.State().Bytes
	if n.bytes > before {
		return 0, nil
	}
	return before - n.bytes, nil
}
