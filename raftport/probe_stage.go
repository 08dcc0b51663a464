package raftport

// The window's staging: it overwrites node state the way the reference
// tests assign fields, to put a node where a scenario starts.

import (
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

func (w nodeWindow) SetTerm(term uint64)        { w.set(func(*raft) { w.SetTermLocked(term) }) }
func (w nodeWindow) SetTermLocked(term uint64)  { w.n.term = term }
func (w nodeWindow) SetCommit(index uint64)     { w.set(func(n *raft) { n.commit = index }) }
func (w nodeWindow) SetProcessed(index uint64)  { w.set(func(n *raft) { n.processed = index }) }
func (w nodeWindow) SetApplied(index uint64)    { w.set(func(n *raft) { n.applied = index }) }
func (w nodeWindow) SetInitializing(on bool)    { w.set(func(n *raft) { n.initializing = on }) }
func (w nodeWindow) SetScaleUp(on bool)         { w.set(func(n *raft) { n.scaleUp = on }) }
func (w nodeWindow) SetScaleUpTime(t time.Time) { w.set(func(n *raft) { n.lsut = t }) }
func (w nodeWindow) SetSnapshotting(on bool)    { w.set(func(n *raft) { n.snapshotting = on }) }
func (w nodeWindow) ClearElectionTimerReset()   { w.set(func(n *raft) { n.etlr = time.Time{} }) }

func (w nodeWindow) SetLogPositionLocked(term, pterm, pindex, commit uint64) {
	w.n.term, w.n.pterm, w.n.pindex, w.n.commit = term, pterm, pindex, commit
}

// SetLeaderState and ForceState store without the lock, as atomics.
func (w nodeWindow) SetLeaderState(upToDate bool) { w.n.leaderState.Store(upToDate) }
func (w nodeWindow) ForceState(state RaftState)   { w.n.state.Store(int32(state)) }

func (w nodeWindow) SetWriteErr(err error) { w.n.setWriteErr(err) }

func (w nodeWindow) SetPeerKnown(peer string, known bool) error {
	return windowChange(w, func(n *raft) error {
		if ps := n.peers[peer]; ps != nil {
			ps.kp = known
			return nil
		}
		return fmt.Errorf("raftport: %q is not a peer of %s", peer, n.id)
	})
}

func (w nodeWindow) SetCatchupProgress(pindex uint64, active time.Time) error {
	return windowChange(w, func(n *raft) error {
		if c := n.catchup; c != nil {
			c.pindex, c.active = pindex, active
			return nil
		}
		return fmt.Errorf("raftport: node %s is not catching up", n.id)
	})
}

// CachePendingLocked puts spec into the pending cache at index, standing in
// for an entry cached earlier with other contents.
func (w nodeWindow) CachePendingLocked(index uint64, spec probeSpec) {
	w.n.pae[index] = newAppendEntry(spec.Leader, spec.Term, spec.Commit, spec.PTerm, spec.PIndex, spec.Entries)
}

// AddCatchupInProgress registers a follower catchup under name, which
// holds off snapshots that are not forced.
func (w nodeWindow) AddCatchupInProgress(name string) {
	w.set(func(n *raft) {
		if n.cu.out == nil {
			n.cu.out = map[string]*outStream{}
		}
		n.cu.out[name] = &outStream{peer: name, acks: newIPQueue[uint64](name), halt: make(chan struct{})}
	})
}

// QueueProposalAndResponse queues one empty proposal and one empty
// response, to observe what a state change does with queued work.
func (w nodeWindow) QueueProposalAndResponse() {
	w.n.prop.Push(newProposedEntry(newEntry(EntryNormal, nil), ""))
	w.n.resp.Push(&appendEntryResponse{})
}

func (w nodeWindow) HoldCatchup() raftprobe.CatchupHandle {
	return windowRead(w, func(n *raft) raftprobe.CatchupHandle {
		if c := n.catchup; c != nil {
			return raftprobe.HoldCatchup(c, raftprobe.SubOf(c.sub))
		}
		return raftprobe.CatchupHandle{}
	})
}

func (w nodeWindow) RestoreCatchup(h raftprobe.CatchupHandle) {
	c, _ := h.Held().(*catchupState)
	w.set(func(n *raft) { n.catchup = c })
}
