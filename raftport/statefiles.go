package raftport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// The node's two small state files, peers.idx and tav.idx, hold the
// reference's layouts as the payload of storage's checksummed files, which
// are replaced atomically: a crash leaves the old content or the new one,
// and damage is reported instead of being read as a term or a peer.

// writePeerState persists ps unless it is what was last written. A failed
// write stops the node from writing anything further.
// The caller holds the node lock.
func (n *raft) writePeerState(ps *peerState) {
	pse := encodePeerState(ps)
	if bytes.Equal(n.wps, pse) {
		return
	}
	n.wps = pse
	if err := writePeerState(n.sd, ps); err != nil && !n.isClosed() {
		n.setWriteErrLocked(err)
		n.warn("Persisting peer set of %q failed: %v", n.group, err)
	}
}

// writePeerState writes ps into the store directory sd outside of any
// node, as bootstrapping does before the node exists.
func writePeerState(sd string, ps *peerState) error {
	return storage.WriteFileAtomic(storage.OSFS{}, filepath.Join(sd, peerStateFile), encodePeerState(ps))
}

// readPeerState returns the peer state stored in sd. A missing file gives
// an error wrapping fs.ErrNotExist, a damaged one an error wrapping
// storage.ErrCorrupt or errCorruptPeers.
func readPeerState(sd string) (ps *peerState, err error) {
	buf, err := storage.ReadFileChecked(storage.OSFS{}, filepath.Join(sd, peerStateFile))
	if err != nil {
		return nil, err
	}
	return decodePeerState(buf)
}

// writeTermVote writes an encoded term and vote into sd.
func writeTermVote(sd string, wtv []byte) error {
	return storage.WriteFileAtomic(storage.OSFS{}, filepath.Join(sd, termVoteFile), wtv)
}

// readTermVote returns the highest term this node has seen and whom it
// voted for in it. The payload is term[8] then, when the node voted, the
// candidate's id[8]; a payload too short for a term reads as no term.
// The caller holds the node lock.
func (n *raft) readTermVote() (term uint64, voted string, err error) {
	buf, err := storage.ReadFileChecked(storage.OSFS{}, filepath.Join(n.sd, termVoteFile))
	if err != nil {
		return 0, noVote, err
	}
	if len(buf) < termLen {
		return 0, noVote, nil
	}
	term = wire.Uint64(buf)
	if len(buf) < termVoteLen {
		return term, noVote, nil
	}
	return term, string(buf[termLen:termVoteLen]), nil
}

// setWriteErrLocked records the first real write failure. From then on the
// node refuses to store anything (callers check n.werr), because a log or
// vote that silently failed to persist would let it break its promises
// after a restart.
// The caller holds the node lock.
func (n *raft) setWriteErrLocked(err error) {
	if n.State() == Closed {
		return
	}
	if err == nil || n.werr == err {
		return
	}
	// These say the store is gone or an entry is absent, not that a write
	// was lost: the node keeps going.
	if errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrNotFound) {
		return
	}
	if errors.Is(err, os.ErrNotExist) {
		n.error("Storage reports a missing resource: %v", err)
		return
	}
	n.error("Storage write failed and the node cannot continue: %v", err)
	n.werr = err

	// The reference disables storage for the whole server when the disk is
	// full or not writable: every other node on this host shares that disk.
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.ENOSPC) {
		n.s.handleStorageFailure(n.group, err)
	}
}

// isClosed is safe to call without the lock.
func (n *raft) isClosed() bool {
	return n.State() == Closed
}

func (n *raft) setWriteErr(err error) {
	n.Lock()
	defer n.Unlock()
	n.setWriteErrLocked(err)
}

// writeTermVote persists the current term and vote. Callers write before
// they act on a new term or vote, so that a restart can never vote twice in
// one term. Unchanged values are not rewritten.
// The caller holds the node lock.
func (n *raft) writeTermVote() {
	tv := make([]byte, termLen, termVoteLen)
	wire.PutUint64(tv, n.term)
	tv = append(tv, n.vote...)
	if bytes.Equal(n.wtv, tv) {
		return
	}
	n.wtv = tv
	if err := writeTermVote(n.sd, tv); err != nil && !n.isClosed() {
		// Forget what we thought was on disk so the next call retries.
		n.wtv = nil
		n.setWriteErrLocked(err)
		n.warn("Persisting term and vote of %q failed: %v", n.group, err)
	}
}
