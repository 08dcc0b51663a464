package raftport

// The window's protocol steps: each is what the run loop, a timer or the
// transport would do at that point, taken when the test says.

import (
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

// The loops and handlers take the node lock themselves.

func (w nodeWindow) StartRun()                        { w.n.startRun() }
func (w nodeWindow) RunAsLeader()                     { w.n.runAsLeader() }
func (w nodeWindow) RunAsCandidate()                  { w.n.runAsCandidate() }
func (w nodeWindow) ProcessAppendEntries()            { w.n.processAppendEntries() }
func (w nodeWindow) RequestVote()                     { w.n.requestVote() }
func (w nodeWindow) SwitchToFollower(leader string)   { w.n.switchToFollower(leader) }
func (w nodeWindow) SwitchToCandidate()               { w.n.switchToCandidate() }
func (w nodeWindow) SwitchToLeader()                  { w.n.switchToLeader() }
func (w nodeWindow) Stepdown(newLeader string)        { w.n.stepdown(newLeader) }
func (w nodeWindow) TrackPeer(peer string) error      { return w.n.trackPeer(peer) }
func (w nodeWindow) SendAppendEntry(entries []*Entry) { w.n.sendAppendEntry(entries) }

// The Locked steps leave the lock to the caller.

func (w nodeWindow) SwitchStateLocked(state RaftState) bool { return w.n.switchState(state) }
func (w nodeWindow) ResetElectLocked(et time.Duration)      { w.n.resetElect(et) }

func (w nodeWindow) ProcessAppendEntry(msg *probeMsg, via raftprobe.Sub) error {
	ae, err := probeDecode(msg, via)
	if err == nil {
		w.n.processAppendEntry(ae, via.Subscription())
	}
	return err
}

func (w nodeWindow) QueueAppendEntry(msg *probeMsg, via raftprobe.Sub) error {
	ae, err := probeDecode(msg, via)
	if err == nil {
		w.n.entry.Push(ae)
	}
	return err
}

func (w nodeWindow) ProcessAppendEntryResponse(r raftprobe.ResponseSpec) {
	w.n.processAppendEntryResponse(probeResponse(r))
}

func (w nodeWindow) TrackResponse(r raftprobe.ResponseSpec) bool {
	return windowChange(w, func(n *raft) bool { return n.trackResponse(probeResponse(r)) })
}

// ProcessVoteRequest answers req as the run loop would, sending the answer
// to req.Reply, and returns it.
func (w nodeWindow) ProcessVoteRequest(req raftprobe.VoteRequestSpec) raftprobe.VoteResponseSpec {
	return probeVoteAnswer(w.n.answerVoteRequest(probeVoteRequest(req)))
}

func (w nodeWindow) UpdateLeader(leader string) { w.set(func(n *raft) { n.updateLeader(leader) }) }

// AddPeer makes peer a known member, as a committed EntryAddPeer would.
func (w nodeWindow) AddPeer(peer string) error {
	if len(peer) != idLen {
		return fmt.Errorf("raftport: peer %q is not a %d-byte node ID", peer, idLen)
	}
	w.set(func(n *raft) { n.addPeer(peer) })
	return nil
}

// BuildAppendEntryLocked encodes the append entry the node would send next
// with entries: its id, term, commit and last log position.
func (w nodeWindow) BuildAppendEntryLocked(entries []*Entry) (*probeMsg, error) {
	ae := w.n.buildAppendEntry(entries)
	spec := probeSpecOf(ae)
	ae.returnToPool()
	return probeCodec{}.EncodeAppendEntry(spec)
}

func (w nodeWindow) ApplyCommit(index uint64) error {
	return windowChange(w, func(n *raft) error { return n.applyCommit(index) })
}

// CreateCatchup starts the catchup a follower starts when it finds itself
// behind msg's leader, and returns the catchup's inbox.
func (w nodeWindow) CreateCatchup(msg *probeMsg) (string, error) {
	ae, err := probeDecode(msg, raftprobe.Sub{})
	if err != nil {
		return "", err
	}
	return windowChange(w, func(n *raft) string { return n.createCatchup(ae) }), nil
}

// CatchupFollower has a leader stream its log to the follower that sent r
// (r.Reply is where the stream goes).
func (w nodeWindow) CatchupFollower(r raftprobe.ResponseSpec) {
	ar := arPool.Get().(*appendEntryResponse)
	*ar = *probeResponse(r)
	w.n.catchupFollower(ar)
}

func (w nodeWindow) CancelCatchup() { w.set((*raft).cancelCatchup) }
