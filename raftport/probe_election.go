package raftport

import (
	"errors"
	"fmt"
	"time"
)

// VoteRequestSpec is the exported form of a candidate's vote request.
type VoteRequestSpec struct {
	Term      uint64 // the candidate's term
	LastTerm  uint64 // term of the candidate's last log entry
	LastIndex uint64 // index of the candidate's last log entry
	Candidate string // the candidate's node ID
	// Reply is where the voter answers; the transport carries it, the
	// encoding does not.
	Reply string
}

func (s VoteRequestSpec) request() *voteRequest {
	return &voteRequest{term: s.Term, lastTerm: s.LastTerm, lastIndex: s.LastIndex,
		candidate: s.Candidate, reply: s.Reply}
}

// VoteResponseSpec is the exported form of a voter's answer.
type VoteResponseSpec struct {
	Term    uint64 // the voter's term after handling the request
	Peer    string // the voter's node ID
	Granted bool
	Empty   bool // the voter's log is empty
}

func (s VoteResponseSpec) response() *voteResponse {
	return &voteResponse{term: s.Term, peer: s.Peer, granted: s.Granted, empty: s.Empty}
}

func voteResponseSpecOf(vr *voteResponse) VoteResponseSpec {
	return VoteResponseSpec{Term: vr.term, Peer: vr.peer, Granted: vr.granted, Empty: vr.empty}
}

var (
	errBadVoteRequest  = errors.New("raftport: malformed vote request")
	errBadVoteResponse = errors.New("raftport: malformed vote response")
)

// EncodeVoteRequest encodes spec as a candidate publishes it.
func EncodeVoteRequest(spec VoteRequestSpec) []byte { return spec.request().encode() }

// DecodeVoteRequest reads a vote request seen on a group's vote subject.
func DecodeVoteRequest(msg []byte, reply string) (VoteRequestSpec, error) {
	vr := decodeVoteRequest(msg, reply)
	if vr == nil {
		return VoteRequestSpec{}, errBadVoteRequest
	}
	return VoteRequestSpec{Term: vr.term, LastTerm: vr.lastTerm, LastIndex: vr.lastIndex,
		Candidate: vr.candidate, Reply: vr.reply}, nil
}

// EncodeVoteResponse encodes spec as a voter answers.
func EncodeVoteResponse(spec VoteResponseSpec) []byte { return spec.response().encode() }

// DecodeVoteResponse reads a voter's answer seen on a candidate's inbox.
func DecodeVoteResponse(msg []byte) (VoteResponseSpec, error) {
	vr := decodeVoteResponse(msg)
	if vr == nil {
		return VoteResponseSpec{}, errBadVoteResponse
	}
	return voteResponseSpecOf(vr), nil
}

// ProcessVoteRequest has the node handle a vote request as its run loop
// would, sending the answer to spec.Reply, and returns that answer.
func (p *Probe) ProcessVoteRequest(spec VoteRequestSpec) VoteResponseSpec {
	return voteResponseSpecOf(p.n.answerVoteRequest(spec.request()))
}

// RequestVote has a candidate vote for itself and ask the group for votes.
func (p *Probe) RequestVote() { p.n.requestVote() }

// SwitchToFollower makes the node a follower of leader ("" for none).
func (p *Probe) SwitchToFollower(leader string) { p.n.switchToFollower(leader) }

// SwitchToCandidate starts a new term and election, unless the node may
// not campaign now (observer, paused, commits still unprocessed).
func (p *Probe) SwitchToCandidate() { p.n.switchToCandidate() }

// SwitchToLeader makes the node leader of its current term; Leader()
// stays false until its first entry of the term is applied.
func (p *Probe) SwitchToLeader() { p.n.switchToLeader() }

// SwitchStateLocked moves the node to state without any of the side
// steps of the switchTo* transitions, as the reference tests do to stage
// a scenario, and reports whether leadership changed; the caller holds
// Lock.
func (p *Probe) SwitchStateLocked(state RaftState) bool { return p.n.switchState(state) }

// ForceState stores state as is, with no transition at all, as the
// reference tests do to stage a node in a state it did not reach.
func (p *Probe) ForceState(state RaftState) { p.n.state.Store(int32(state)) }

// Stepdown makes the node a follower of newLeader ("" for none) at once.
func (p *Probe) Stepdown(newLeader string) { p.n.stepdown(newLeader) }

// SetTerm overwrites the node's current term, leaving its log alone.
func (p *Probe) SetTerm(term uint64) { p.locked(func() { p.SetTermLocked(term) }) }

// SetTermLocked overwrites the node's current term; the caller holds Lock.
func (p *Probe) SetTermLocked(term uint64) { p.n.term = term }

// SetLeaderState sets whether a leader has applied its term's first
// entries, which gates Leader() and forwarded proposals.
func (p *Probe) SetLeaderState(upToDate bool) { p.n.leaderState.Store(upToDate) }

// ElectionTimerReset is when the election timer was last reset.
func (p *Probe) ElectionTimerReset() time.Time {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.ElectionTimerResetLocked()
}

// ElectionTimerResetLocked is ElectionTimerReset; the caller holds Lock.
func (p *Probe) ElectionTimerResetLocked() time.Time { return p.n.etlr }

// ClearElectionTimerReset forgets the last reset time, so that a test can
// tell whether the next step resets the timer.
func (p *Probe) ClearElectionTimerReset() { p.locked(func() { p.n.etlr = time.Time{} }) }

// ResetElectLocked rearms the election timer to fire after et; the caller
// holds Lock.
func (p *Probe) ResetElectLocked(et time.Duration) { p.n.resetElect(et) }

// AddPeer makes peer a known member of the group, as a committed
// EntryAddPeer would.
func (p *Probe) AddPeer(peer string) error {
	if len(peer) != idLen {
		return fmt.Errorf("raftport: peer %q is not a %d-byte node ID", peer, idLen)
	}
	p.n.Lock()
	defer p.n.Unlock()
	p.n.addPeer(peer)
	return nil
}

// KnownPeers lists the node IDs the node counts as members.
func (p *Probe) KnownPeers() []string {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.peerNames()
}

// RunAsLeader runs the leader loop on the caller's goroutine until the
// node stops leading or stops, as the reference tests do with a node that
// was initialized without its run loop.
func (p *Probe) RunAsLeader() { p.n.runAsLeader() }

// RunAsCandidate runs the candidate loop on the caller's goroutine until
// the election ends or the node stops.
func (p *Probe) RunAsCandidate() { p.n.runAsCandidate() }

// ElectionSubjects are the subjects a node's group uses for elections and
// forwarded proposals.
type ElectionSubjects struct {
	Vote       string // where candidates ask for votes
	VoteReply  string // where this node's vote answers arrive
	Append     string // where the leader publishes append entries
	AppendResp string // where this node's append-entry answers arrive
	Propose    string // where followers forward proposals
	RemovePeer string // where followers forward peer removals
}

// Subjects returns the node's election and proposal subjects.
func (p *Probe) Subjects() ElectionSubjects {
	p.n.RLock()
	defer p.n.RUnlock()
	n := p.n
	return ElectionSubjects{Vote: n.vsubj, VoteReply: n.vreply, Append: n.asubj,
		AppendResp: n.areply, Propose: n.psubj, RemovePeer: n.rpsubj}
}

// TruncateWALLocked is Probe.TruncateWAL for a caller that already holds
// Lock, e.g. while a whole group is locked to stage a catchup.
func (p *Probe) TruncateWALLocked(term, index uint64) { p.n.truncateWAL(term, index) }

// PeerStateEntry returns the node's current peer state as an
// EntryPeerState entry, as a leader sends it on taking office and puts it
// next to a snapshot.
func (p *Probe) PeerStateEntry() *Entry {
	p.n.RLock()
	defer p.n.RUnlock()
	ps := &peerState{knownPeers: p.n.peerNames(), clusterSize: p.n.csz, domainExt: p.n.extSt}
	return newEntry(EntryPeerState, encodePeerState(ps))
}

// PendingProposals is how many proposals wait in the leader's queue.
func (p *Probe) PendingProposals() int { return p.n.prop.Len() }

// PendingResponses is how many append-entry responses wait to be counted.
func (p *Probe) PendingResponses() int { return p.n.resp.Len() }

// PendingAppendEntries is how many received append entries wait for the
// run loop.
func (p *Probe) PendingAppendEntries() int { return p.n.entry.Len() }

// QueueProposalAndResponse puts one empty proposal and one empty
// append-entry response in the leader's queues, to observe what a state
// change does with queued work.
func (p *Probe) QueueProposalAndResponse() {
	p.n.prop.Push(newProposedEntry(newEntry(EntryNormal, nil), ""))
	p.n.resp.Push(&appendEntryResponse{})
}
