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

// putStateFile replaces the state file name in the store directory sd.
func putStateFile(sd, name string, payload []byte) error {
	return storage.WriteFileAtomic(storage.OSFS{}, filepath.Join(sd, name), payload)
}

// getStateFile reads the state file name of the store directory sd. A
// missing file gives an error wrapping fs.ErrNotExist, a damaged one an
// error wrapping storage.ErrCorrupt.
func getStateFile(sd, name string) ([]byte, error) {
	return storage.ReadFileChecked(storage.OSFS{}, filepath.Join(sd, name))
}

// persist writes payload as the state file name, with write, unless
// *written says it is there already. A failed write stops the node from
// writing anything further, and forgets what was written so that a later
// call retries. Lock held.
func (n *raft) persist(name string, written *[]byte, payload []byte, write func(sd string, payload []byte) error) {
	if bytes.Equal(*written, payload) {
		return
	}
	*written = payload
	err := write(n.sd, payload)
	if err == nil || n.isClosed() {
		return
	}
	*written = nil
	n.setWriteErrLocked(err)
	n.warn("Persisting %s of %q failed: %v", name, n.group, err)
}

// writePeerState persists ps unless it is what was last written. Lock
// held.
func (n *raft) writePeerState(ps *peerState) {
	n.persist(peerStateFile, &n.wps, encodePeerState(ps), func(sd string, buf []byte) error {
		return putStateFile(sd, peerStateFile, buf)
	})
}

// writePeerState writes ps into the store directory sd outside of any
// node, as bootstrapping does before the node exists.
func writePeerState(sd string, ps *peerState) error {
	return putStateFile(sd, peerStateFile, encodePeerState(ps))
}

// readPeerState returns the peer state stored in sd. A missing file gives
// an error wrapping fs.ErrNotExist, a damaged one an error wrapping
// storage.ErrCorrupt or errCorruptPeers.
func readPeerState(sd string) (ps *peerState, err error) {
	var buf []byte
	if buf, err = getStateFile(sd, peerStateFile); err == nil {
		ps, err = decodePeerState(buf)
	}
	return ps, err
}

// The term and vote file holds term[8] then, when the node voted, the
// candidate's id[8]; a payload too short for a term reads as no term.

func encodeTermVote(term uint64, vote string) []byte {
	return append(wire.AppendUint64(make([]byte, 0, termVoteLen), term), vote...)
}

func decodeTermVote(buf []byte) (term uint64, vote string) {
	term, vote = 0, noVote
	if len(buf) >= termLen {
		term = wire.Uint64(buf)
	}
	if len(buf) >= termVoteLen {
		vote = string(buf[termLen:termVoteLen])
	}
	return term, vote
}

// writeTermVote writes an encoded term and vote into sd.
func writeTermVote(sd string, wtv []byte) error {
	return putStateFile(sd, termVoteFile, wtv)
}

// readTermVote returns the highest term this node has seen and whom it
// voted for in it. Lock held.
func (n *raft) readTermVote() (term uint64, voted string, err error) {
	buf, err := getStateFile(n.sd, termVoteFile)
	term, voted = decodeTermVote(buf)
	return term, voted, err
}

// setWriteErrLocked records the first real write failure. From then on the
// node refuses to store anything (callers check n.werr), because a log or
// vote that silently failed to persist would let it break its promises
// after a restart. Errors that say the store is gone or an entry is
// absent lose no write: the node keeps going. Lock held.
func (n *raft) setWriteErrLocked(err error) {
	switch {
	case n.isClosed(), err == nil, err == n.werr:
	case errors.Is(err, storage.ErrClosed), errors.Is(err, storage.ErrNotFound):
	case errors.Is(err, os.ErrNotExist):
		n.error("Storage reports a missing resource: %v", err)
	default:
		n.failWrites(err)
	}
}

// failWrites stops the node writing after err. The reference disables
// storage for the whole server when the disk is full or not writable:
// every other node on this host shares that disk. Lock held.
func (n *raft) failWrites(err error) {
	n.error("Storage write failed and the node cannot continue: %v", err)
	n.werr = err
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.ENOSPC) {
		n.s.handleStorageFailure(n.group, err)
	}
}

// isClosed is safe to call without the lock.
func (n *raft) isClosed() bool { return n.State() == Closed }

func (n *raft) setWriteErr(err error) { n.underLock(func() { n.setWriteErrLocked(err) }) }

// writeTermVote persists the current term and vote. Callers write before
// they act on a new term or vote, so that a restart can never vote twice in
// one term. Unchanged values are not rewritten. Lock held.
func (n *raft) writeTermVote() {
	n.persist(termVoteFile, &n.wtv, encodeTermVote(n.term, n.vote), writeTermVote)
}
