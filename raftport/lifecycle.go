package raftport

import (
	"errors"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// State is the node's role. Upper layers decide leadership with Leader,
// which also requires the leader to have caught up with its own term.
func (n *raft) State() RaftState {
	return RaftState(n.state.Load())
}

// Progress returns the last index in the log, the commit index and the
// applied index.
func (n *raft) Progress() (index, commit, applied uint64) {
	n.RLock()
	defer n.RUnlock()
	return n.pindex, n.commit, n.applied
}

// Size returns the entries held in the log since the last snapshot and the
// log's bytes.
func (n *raft) Size() (entries uint64, bytes uint64) {
	n.RLock()
	defer n.RUnlock()
	return n.pindex - n.papplied, n.bytes
}

// ID needs no lock: the id never changes after creation.
func (n *raft) ID() string {
	if n == nil {
		return ""
	}
	return n.id
}

// Group needs no lock: the group never changes after creation.
func (n *raft) Group() string {
	return n.group
}

// Peers describes every peer this node knows of. A peer is current when it
// leads or has stored everything this node applied; its lag is how far its
// log trails our commit.
func (n *raft) Peers() []*Peer {
	n.RLock()
	defer n.RUnlock()
	peers := make([]*Peer, 0, len(n.peers))
	for id, ps := range n.peers {
		var lag uint64
		if n.commit > ps.li {
			lag = n.commit - ps.li
		}
		peers = append(peers, &Peer{
			ID:      id,
			Current: id == n.leader || ps.li >= n.applied,
			Last:    ps.ts,
			Lag:     lag,
		})
	}
	return peers
}

// ProposeKnownPeers replaces the known peers and, on the leader only,
// replicates the new peer state to the group.
func (n *raft) ProposeKnownPeers(knownPeers []string) {
	n.Lock()
	defer n.Unlock()
	if n.State() != Leader {
		return
	}
	n.updateKnownPeersLocked(knownPeers)
	n.sendPeerState()
}

// UpdateKnownPeers replaces the known peers locally.
func (n *raft) UpdateKnownPeers(knownPeers []string) {
	n.Lock()
	defer n.Unlock()
	n.updateKnownPeersLocked(knownPeers)
}

// updateKnownPeersLocked treats the list as a peer-state update whose
// cluster size is the list's length.
// The caller holds the node lock.
func (n *raft) updateKnownPeersLocked(knownPeers []string) {
	n.processPeerState(&peerState{knownPeers: knownPeers, clusterSize: len(knownPeers), domainExt: n.extSt})
}

// ApplyQ is where committed entries wait for the state machine.
func (n *raft) ApplyQ() *IPQueue[*CommittedEntry] { return n.apply }

// LeadChangeC signals true when this node becomes leader, false when it
// stops being one.
func (n *raft) LeadChangeC() <-chan bool { return n.leadc }

// QuitC is closed when the node stops.
func (n *raft) QuitC() <-chan struct{} { return n.quit }

// Created needs no lock: it never changes after creation.
func (n *raft) Created() time.Time {
	return n.created
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
	if n.state.Load() == int32(Closed) {
		n.wg.Wait()
	}
}

// Delete stops the node and removes its log and store directory. The node
// is marked deleted first so that the teardown deletes the log rather than
// just closing it.
func (n *raft) Delete() {
	n.Lock()
	n.deleted = true
	n.Unlock()

	n.Stop()
	n.wg.Wait()

	n.Lock()
	defer n.Unlock()
	// A node stopped before Delete has only closed its log.
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

func (n *raft) IsDeleted() bool {
	n.RLock()
	defer n.RUnlock()
	return n.deleted
}

// shutdown marks the node closed and, the first time only, closes the quit
// channel so every loop of the node stops what it is doing. It takes no
// lock, so it is safe under the node lock.
func (n *raft) shutdown() {
	if n.state.Swap(int32(Closed)) != int32(Closed) {
		n.leaderState.Store(false)
		n.leaderSince.Store(nil)
		close(n.quit)
	}
}
