package kv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/porttrack-dev/porttrack/raftport"
)

// The outcomes of a proposal a node can report besides success.
var (
	// ErrNotLeader: this node does not lead; nothing was proposed. Ask the
	// leader (Node.LeaderID names it when known).
	ErrNotLeader = errors.New("kv: not the leader")
	// ErrOutcomeUnknown: the command was proposed but this node cannot
	// tell whether it committed (it lost leadership, or the wait ended).
	// It may still commit. Retrying the same command (same Client and
	// Seq) is safe: the store applies it at most once.
	ErrOutcomeUnknown = errors.New("kv: outcome unknown")
	// ErrStopped: the node stopped while the command was pending; as with
	// ErrOutcomeUnknown the command may still commit elsewhere.
	ErrStopped = errors.New("kv: node stopped")
)

// committed is where the log applied a proposed entry: the index of the
// batch (raftport's CommittedEntry.Index) that held it. Trap: that index
// names a batch of commands, not one; waiting for it to be applied is
// enough here, but it cannot order two commands of one batch.
type committed struct {
	Index uint64
}

// outcomeProposer proposes an entry and waits to learn what became of it.
// It is the shape of raftport's planned ProposeWait(ctx, entry)
// (Committed, error); tagProposer provides it on today's fire-and-forget
// Propose, and is to be replaced by a thin wrapper once raftport has it.
type outcomeProposer interface {
	ProposeWait(ctx context.Context, entry []byte) (committed, error)
}

// tagLen is the size of the tag tagProposer puts before every entry: an
// 8-byte random prefix drawn when the proposer starts (so tags of a
// restarted node never collide with those in its log) and an 8-byte count.
const tagLen = 16

type proposalTag [tagLen]byte

type outcome struct {
	at  committed
	err error
}

// tagProposer learns a proposal's outcome as a raftport user has to today:
// Propose returns nothing about the entry's fate, so each entry carries a
// unique tag, the apply loop reports every tag it applies (applied), and
// the loop's lead-change signal fails every pending wait (leadershipLost),
// since raftport drops the proposals a leader had queued when it steps
// down, without notice (trap: queued proposals vanish on step-down).
type tagProposer struct {
	node   raftport.RaftNode
	prefix [8]byte

	mu      sync.Mutex
	next    uint64
	waiting map[proposalTag]chan outcome
	stopped bool
}

func newTagProposer(node raftport.RaftNode) *tagProposer {
	p := &tagProposer{node: node, waiting: map[proposalTag]chan outcome{}}
	rand.Read(p.prefix[:])
	return p
}

var _ outcomeProposer = (*tagProposer)(nil)

// ProposeWait proposes entry on this node and waits until it is applied
// here, this node stops leading, the node stops, or ctx ends.
func (p *tagProposer) ProposeWait(ctx context.Context, entry []byte) (committed, error) {
	if !p.node.Leader() {
		return committed{}, ErrNotLeader
	}
	tag, ch, err := p.register()
	if err != nil {
		return committed{}, err
	}
	defer p.forget(tag)
	if err := p.node.Propose(append(tag[:], entry...)); err != nil {
		// Trap: raftport's not-leader error is unexported, so the state
		// tells it apart from a storage failure.
		if p.node.State() != raftport.Leader {
			return committed{}, ErrNotLeader
		}
		return committed{}, err
	}
	select {
	case o := <-ch:
		return o.at, o.err
	case <-ctx.Done():
		return committed{}, ErrOutcomeUnknown
	}
}

func (p *tagProposer) register() (proposalTag, chan outcome, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return proposalTag{}, nil, ErrStopped
	}
	var tag proposalTag
	copy(tag[:8], p.prefix[:])
	p.next++
	binary.BigEndian.PutUint64(tag[8:], p.next)
	ch := make(chan outcome, 1)
	p.waiting[tag] = ch
	return tag, ch, nil
}

func (p *tagProposer) forget(tag proposalTag) {
	p.mu.Lock()
	delete(p.waiting, tag)
	p.mu.Unlock()
}

// applied is called by the apply loop for every normal entry, after the
// store applied it; it returns the entry without its tag. An entry too
// short to carry a tag is returned as it is.
func (p *tagProposer) applied(entry []byte, index uint64) []byte {
	if len(entry) < tagLen {
		return entry
	}
	tag := proposalTag(entry[:tagLen])
	p.resolve(tag, outcome{at: committed{Index: index}})
	return entry[tagLen:]
}

func (p *tagProposer) resolve(tag proposalTag, o outcome) {
	p.mu.Lock()
	ch, ok := p.waiting[tag]
	delete(p.waiting, tag)
	p.mu.Unlock()
	if ok {
		ch <- o
	}
}

// failAll ends every pending wait with err; stop also refuses new ones.
func (p *tagProposer) failAll(err error, stop bool) {
	p.mu.Lock()
	waiting := p.waiting
	p.waiting = map[proposalTag]chan outcome{}
	p.stopped = p.stopped || stop
	p.mu.Unlock()
	for _, ch := range waiting {
		ch <- outcome{err: err}
	}
}

// leadershipLost fails every pending wait: what a leader had not yet
// committed may commit under the next leader, or be dropped.
func (p *tagProposer) leadershipLost() { p.failAll(ErrOutcomeUnknown, false) }

// stop fails every pending wait and refuses new proposals.
func (p *tagProposer) stop() { p.failAll(ErrStopped, true) }
