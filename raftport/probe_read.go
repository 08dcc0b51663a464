package raftport

// The window's readings: copies of node state, each taken under the read
// lock unless the name ends in Locked.

import (
	"maps"
	"slices"
	"time"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

func (w nodeWindow) Replication() raftprobe.ReplicationState[RaftState] {
	return windowRead(w, func(*raft) raftprobe.ReplicationState[RaftState] { return w.ReplicationLocked() })
}

func (w nodeWindow) ReplicationLocked() raftprobe.ReplicationState[RaftState] {
	n := w.n
	r := raftprobe.ReplicationState[RaftState]{State: RaftState(n.state.Load())}
	r.Term, r.PTerm, r.PIndex = n.term, n.pterm, n.pindex
	r.Commit, r.Processed, r.Applied, r.PApplied, r.HCommit = n.commit, n.processed, n.applied, n.papplied, n.hcommit
	r.ApplyFloor, r.MembChangeIndex = n.aflr, n.membChangeIndex
	r.Leader, r.Vote, r.ClusterSize, r.Quorum = n.leader, n.vote, n.csz, n.qn
	r.Bytes, r.Paused, r.Initializing, r.WriteErr = n.bytes, n.paused, n.initializing, n.werr
	return r
}

func (w nodeWindow) StartupFlags() raftprobe.StartupFlags {
	return windowRead(w, func(n *raft) raftprobe.StartupFlags {
		return raftprobe.StartupFlags{Initializing: n.initializing, ScaleUp: n.scaleUp, Observer: n.observer}
	})
}

func (w nodeWindow) Catchup() (raftprobe.CatchupView, bool) {
	c := windowRead(w, func(n *raft) *raftprobe.CatchupView {
		if c := n.catchup; c != nil {
			return &raftprobe.CatchupView{CTerm: c.cterm, CIndex: c.cindex, PTerm: c.pterm, PIndex: c.pindex,
				Active: c.active, Signal: c.signal}
		}
		return nil
	})
	if c == nil {
		return raftprobe.CatchupView{}, false
	}
	return *c, true
}

func (w nodeWindow) CatchupFollowers() []string {
	return windowRead(w, func(n *raft) []string { return slices.Collect(maps.Keys(n.cu.out)) })
}

func (w nodeWindow) PeerViews() map[string]raftprobe.PeerView {
	return windowRead(w, func(n *raft) map[string]raftprobe.PeerView {
		views := make(map[string]raftprobe.PeerView, len(n.peers))
		for id, ps := range n.peers {
			views[id] = raftprobe.PeerView{LastSeen: ps.ts, LastIndex: ps.li, Known: ps.kp}
		}
		return views
	})
}

func (w nodeWindow) KnownPeers() []string { return windowRead(w, (*raft).peerNames) }

// CurrentPeerState takes the lock itself, as currentPeerState does.
func (w nodeWindow) CurrentPeerState() raftprobe.PeerStateView {
	ps := w.n.currentPeerState()
	return raftprobe.PeerStateView{KnownPeers: ps.knownPeers, ClusterSize: ps.clusterSize}
}

func (w nodeWindow) PeerStateEntry() *Entry {
	ps := windowRead(w, func(n *raft) *peerState {
		return &peerState{knownPeers: n.peerNames(), clusterSize: n.csz, domainExt: n.extSt}
	})
	return newEntry(EntryPeerState, encodePeerState(ps))
}

func (w nodeWindow) Acks() map[uint64][]string {
	return windowRead(w, func(n *raft) map[uint64][]string {
		out := make(map[uint64][]string, len(n.acks))
		for index, peers := range n.acks {
			out[index] = slices.Collect(maps.Keys(peers))
		}
		return out
	})
}

func (w nodeWindow) Subjects() raftprobe.Subjects {
	return windowRead(w, func(n *raft) raftprobe.Subjects {
		return raftprobe.Subjects{Vote: n.vsubj, VoteReply: n.vreply, Append: n.asubj,
			AppendResp: n.areply, Propose: n.psubj, RemovePeer: n.rpsubj}
	})
}

func (w nodeWindow) AppendSubject() string { return w.Subjects().Append }

func (w nodeWindow) AESub() raftprobe.Sub {
	return windowRead(w, func(n *raft) raftprobe.Sub { return raftprobe.SubOf(n.aesub) })
}

func (w nodeWindow) CatchupSub() raftprobe.Sub { return w.HoldCatchup().Sub() }

func (w nodeWindow) ElectionTimerReset() time.Time {
	return windowRead(w, func(*raft) time.Time { return w.ElectionTimerResetLocked() })
}

func (w nodeWindow) ElectionTimerResetLocked() time.Time { return w.n.etlr }

func (w nodeWindow) ElectionTimeoutDraw() time.Duration {
	return windowRead(w, func(n *raft) time.Duration { return randElectionTimeout(&n.timing) })
}

func (w nodeWindow) CampaignTimeoutDraw() time.Duration {
	return windowRead(w, func(n *raft) time.Duration { return randCampaignTimeout(&n.timing) })
}

// The queue lengths and the leader's checks take what locks they need.

func (w nodeWindow) PendingProposals() int     { return w.n.prop.Len() }
func (w nodeWindow) PendingResponses() int     { return w.n.resp.Len() }
func (w nodeWindow) PendingAppendEntries() int { return w.n.entry.Len() }
func (w nodeWindow) LostQuorum() bool          { return w.n.lostQuorum() }
func (w nodeWindow) OutOfResources() bool      { return w.n.outOfResources() }

func (w nodeWindow) SelectNextLeader() string { return windowRead(w, (*raft).selectNextLeader) }
