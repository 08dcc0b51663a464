package raftport

import (
	"errors"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// underLock runs f with the node lock held.
func (n *raft) underLock(f func()) {
	n.Lock()
	defer n.Unlock()
	f()
}

// rlocked returns what f reads under the node's read lock.
func rlocked[T any](n *raft, f func() T) T {
	n.RLock()
	defer n.RUnlock()
	return f()
}

// wlocked returns what f returns under the node lock.
func wlocked[T any](n *raft, f func() T) T {
	n.Lock()
	defer n.Unlock()
	return f()
}

// logMarks are the positions of the log read together under one lock.
type logMarks struct {
	last, commit, applied, snapshot, bytes uint64
}

func (n *raft) marks() logMarks {
	return rlocked(n, func() logMarks {
		return logMarks{last: n.pindex, commit: n.commit, applied: n.applied, snapshot: n.papplied, bytes: n.bytes}
	})
}

// Size returns the entries held in the log since the last snapshot and the
// log's bytes.
func (n *raft) Size() (entries uint64, bytes uint64) {
	m := n.marks()
	return m.last - m.snapshot, m.bytes
}

// Progress returns the last index in the log, the commit index and the
// applied index.
func (n *raft) Progress() (index, commit, applied uint64) {
	m := n.marks()
	return m.last, m.commit, m.applied
}

// ID, Group and Created need no lock: they never change after creation.

func (n *raft) ID() string {
	if n != nil {
		return n.id
	}
	return ""
}

func (n *raft) Group() string      { return n.group }
func (n *raft) Created() time.Time { return n.created }

// State is the node's role. Upper layers decide leadership with Leader,
// which also requires the leader to have caught up with its own term.
func (n *raft) State() RaftState { return RaftState(n.state.Load()) }

// LeadChangeC signals true when this node becomes leader, false when it
// stops being one.
func (n *raft) LeadChangeC() <-chan bool { return n.leadc }

// ApplyQ is where committed entries wait for the state machine.
func (n *raft) ApplyQ() *IPQueue[*CommittedEntry] { return n.apply }

// QuitC is closed when the node stops.
func (n *raft) QuitC() <-chan struct{} { return n.quit }

// Peers describes every peer this node knows of. A peer is current when it
// leads or has stored everything this node applied; its lag is how far its
// log trails our commit.
func (n *raft) Peers() []*Peer {
	return rlocked(n, func() []*Peer {
		out := make([]*Peer, 0, len(n.peers))
		for id, ps := range n.peers {
			out = append(out, &Peer{ID: id, Last: ps.ts,
				Current: id == n.leader || ps.li >= n.applied,
				Lag:     n.commit - min(n.commit, ps.li)})
		}
		return out
	})
}

// ProposeKnownPeers replaces the known peers and, on the leader only,
// replicates the new peer state to the group.
func (n *raft) ProposeKnownPeers(knownPeers []string) { n.setKnownPeers(knownPeers, true) }

// UpdateKnownPeers replaces the known peers locally.
func (n *raft) UpdateKnownPeers(knownPeers []string) { n.setKnownPeers(knownPeers, false) }

// setKnownPeers replaces the known peers; a proposal is the leader's to
// make, and it sends the new peer state to the group.
func (n *raft) setKnownPeers(peers []string, propose bool) {
	n.Lock()
	defer n.Unlock()
	switch leading := n.State() == Leader; {
	case !propose:
		n.updateKnownPeersLocked(peers)
	case leading:
		n.updateKnownPeersLocked(peers)
		n.sendPeerState()
	}
}

// updateKnownPeersLocked treats the list as a peer-state update whose
// cluster size is the list's length.
// The caller holds the node lock.
func (n *raft) updateKnownPeersLocked(knownPeers []string) {
	n.processPeerState(&peerState{knownPeers: knownPeers, clusterSize: len(knownPeers), domainExt: n.extSt})
}

// shutdown marks the node closed and, the first time only, closes the quit
// channel so every loop of the node stops what it is doing. It takes no
// lock, so it is safe under the node lock.
func (n *raft) shutdown() {
	if prev := n.state.Swap(int32(Closed)); prev != int32(Closed) {
		n.dropLeaderFlags()
		close(n.quit)
	}
}

// Stop closes the node. The run loop notices and tears everything down
// (subscriptions, queues, registration, the WAL); a node whose run loop was
// never started is torn down here and now. Stopping twice is harmless.
func (n *raft) Stop() {
	n.shutdown()
	if !n.runStarted.Load() {
		n.teardown.Do(n.finishShutdown)
	}
}

// WaitForStop waits for the run loop of a stopped node to finish its
// teardown; on a running node it returns at once.
func (n *raft) WaitForStop() {
	if n.State() == Closed {
		n.wg.Wait()
	}
}

// IsDeleted reports whether Delete was called.
func (n *raft) IsDeleted() bool { return rlocked(n, func() bool { return n.deleted }) }

// Delete stops the node and removes its log and store directory. The node
// is marked deleted first so that the teardown deletes the log rather than
// just closing it.
func (n *raft) Delete() {
	n.underLock(func() { n.deleted = true })
	n.Stop()
	n.wg.Wait()
	n.underLock(n.removeFiles)
}

// removeFiles deletes what a deleted node leaves on disk. A node stopped
// before Delete has only closed its log, so the log is deleted here too.
// The caller holds the node lock.
func (n *raft) removeFiles() {
	if n.wal != nil {
		if err := n.wal.Delete(); err != nil && !errors.Is(err, storage.ErrClosed) {
			n.warn("Error deleting log: %v", err)
		}
	}
	if err := os.RemoveAll(n.sd); err != nil {
		n.warn("Error removing store directory: %v", err)
	}
	n.debug("Deleted")
}
