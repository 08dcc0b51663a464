package raftport

// The window's protocol steps: each is what the run loop, a timer or the
// transport would do at that point, taken when the test says.

import (
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

// The loops and handlers take the node lock themselves.

func (w window) StartRun()                        { w.n.startRun() }
func (w window) RunAsLeader()                     { w.n.runAsLeader() }
func (w window) RunAsCandidate()                  { w.n.runAsCandidate() }
func (w window) ProcessAppendEntries()            { w.n.processAppendEntries() }
func (w window) RequestVote()                     { w.n.requestVote() }
func (w window) SwitchToFollower(leader string)   { w.n.switchToFollower(leader) }
func (w window) SwitchToCandidate()               { w.n.switchToCandidate() }
func (w window) SwitchToLeader()                  { w.n.switchToLeader() }
func (w window) Stepdown(newLeader string)        { w.n.stepdown(newLeader) }
func (w window) TrackPeer(peer string) error      { return w.n.trackPeer(peer) }
func (w window) SendAppendEntry(entries []*Entry) { w.n.sendAppendEntry(entries) }

// The Locked steps leave the lock to the caller.

func (w window) SwitchStateLocked(state RaftState) bool { return w.n.switchState(state) }
func (w window) ResetElectLocked(et time.Duration)      { w.n.resetElect(et) }

func (w window) ProcessAppendEntry(msg *aeMsg, via raftprobe.Sub) error {
	ae, err := received(msg, via)
	if err == nil {
		w.n.processAppendEntry(ae, via.Subscription())
	}
	return err
}

func (w window) QueueAppendEntry(msg *aeMsg, via raftprobe.Sub) error {
	ae, err := received(msg, via)
	if err == nil {
		w.n.entry.Push(ae)
	}
	return err
}

func (w window) ProcessAppendEntryResponse(r raftprobe.ResponseSpec) {
	w.n.processAppendEntryResponse(toResponse(r))
}

func (w window) TrackResponse(r raftprobe.ResponseSpec) bool {
	return changing(w, func(n *raft) bool { return n.trackResponse(toResponse(r)) })
}

// ProcessVoteRequest answers req as the run loop would, sending the answer
// to req.Reply, and returns it.
func (w window) ProcessVoteRequest(req raftprobe.VoteRequestSpec) raftprobe.VoteResponseSpec {
	return voteAnswerOf(w.n.answerVoteRequest(toVoteRequest(req)))
}

func (w window) UpdateLeader(leader string) { w.set(func(n *raft) { n.updateLeader(leader) }) }

// AddPeer makes peer a known member, as a committed EntryAddPeer would.
func (w window) AddPeer(peer string) error {
	if len(peer) != idLen {
		return fmt.Errorf("raftport: peer %q is not a %d-byte node ID", peer, idLen)
	}
	w.set(func(n *raft) { n.addPeer(peer) })
	return nil
}

// BuildAppendEntryLocked encodes the append entry the node would send next
// with entries: its id, term, commit and last log position.
func (w window) BuildAppendEntryLocked(entries []*Entry) (*aeMsg, error) {
	ae := w.n.buildAppendEntry(entries)
	spec := specOf(ae)
	ae.returnToPool()
	return codec{}.EncodeAppendEntry(spec)
}

func (w window) ApplyCommit(index uint64) error {
	return changing(w, func(n *raft) error { return n.applyCommit(index) })
}

// CreateCatchup starts the catchup a follower starts when it finds itself
// behind msg's leader, and returns the catchup's inbox.
func (w window) CreateCatchup(msg *aeMsg) (string, error) {
	ae, err := received(msg, raftprobe.Sub{})
	if err != nil {
		return "", err
	}
	return changing(w, func(n *raft) string { return n.createCatchup(ae) }), nil
}

// CatchupFollower has a leader stream its log to the follower that sent r
// (r.Reply is where the stream goes).
func (w window) CatchupFollower(r raftprobe.ResponseSpec) {
	ar := arPool.Get().(*appendEntryResponse)
	*ar = *toResponse(r)
	w.n.catchupFollower(ar)
}

func (w window) CancelCatchup() { w.set((*raft).cancelCatchup) }
