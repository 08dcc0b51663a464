package raftport

import (
	"errors"
	"sync"
)

// The errors an application tells apart. Each is returned as it is, so
// errors.Is and == both work.
var (
	// ErrNotLeader: this node does not lead, so the proposal or change was
	// not made; a proposal refused with it never reached the log. Retry
	// at the leader (GroupLeader names it when known).
	ErrNotLeader = errors.New("raft: not leader")
	// ErrOutcomeUnknown: the proposal reached the log, but leadership
	// changed (or the caller stopped waiting) before it committed here. It
	// may still commit under the next leader, or be overwritten; an
	// application that retries must make the command idempotent.
	ErrOutcomeUnknown = errors.New("raft: proposal outcome unknown")
)

// More errors an application tells apart.
var (
	// ErrNodeClosed: the node is stopped.
	ErrNodeClosed = errors.New("raft: node is closed")
	// ErrMembershipChange: another peer add or remove is still
	// uncommitted; only one may be at a time.
	ErrMembershipChange = errors.New("raft: membership change in progress")
	// ErrRemoveLastNode: the group's only peer cannot be removed.
	ErrRemoveLastNode = errors.New("raft: cannot remove the last peer")
)

// Outcome is where a proposal committed.
type Outcome struct {
	// Index is the CommittedEntry.Index of the batch that carries it. One
	// index names a batch of entries, not one command.
	Index uint64
	// Pos is the entry's position in that CommittedEntry's Entries, so
	// (Index, Pos) orders every command of the log.
	Pos int
}

// waitStage is how far a waited-on proposal got.
type waitStage uint8

const (
	waitQueued waitStage = iota + 1 // on the proposal queue
	waitSent                        // taken off the queue to be sent
	waitPlaced                      // given its index, in the log if the send succeeds
	waitOver                        // its outcome is decided
)

// waiter is one ProposeWait call's proposal.
type waiter struct {
	done  chan waitResult // receives the single outcome
	stage waitStage
	// Once placed: the batch's index and the entry's position in it.
	index uint64
	pos   int
}

type waitResult struct {
	at  Outcome
	err error
}

func newWaiter() *waiter { return &waiter{done: make(chan waitResult, 1), stage: waitQueued} }

// outcomeTracker follows the proposals someone waits on, from the queue to
// their commit or to the leadership change that makes them unknowable. It
// has its own lock: the node lock is held for some calls, not for others,
// and it is never taken while holding this one.
type outcomeTracker struct {
	mu     sync.Mutex
	live   map[*waiter]struct{}
	placed map[uint64][]*waiter // by batch index, in batch order
}

// track registers w as queued.
func (t *outcomeTracker) track(w *waiter) *waiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live == nil {
		t.live, t.placed = make(map[*waiter]struct{}), make(map[uint64][]*waiter)
	}
	t.live[w] = struct{}{}
	return w
}

// claim takes w off the queue to be sent and reports whether to send it:
// not when its outcome is already decided (withdrawn, or refused on a
// leadership change). Nobody waiting (nil) always sends.
func (t *outcomeTracker) claim(w *waiter) bool {
	if w == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.stage == waitOver {
		return false
	}
	w.stage = waitSent
	return true
}

// place gives the waiters of one batch (nil where nobody waits) the index
// the batch is about to take.
func (t *outcomeTracker) place(ws []*waiter, index uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pos, w := range ws {
		if w == nil || w.stage == waitOver {
			continue
		}
		w.stage, w.index, w.pos = waitPlaced, index, pos
		t.placed[index] = append(t.placed[index], w)
	}
}

// unplace ends the waits of a batch that did not reach the log.
func (t *outcomeTracker) unplace(ws []*waiter, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range ws {
		if w != nil && w.stage == waitPlaced {
			delete(t.placed, w.index)
			t.finishLocked(w, waitResult{err: err})
		}
	}
}

// take removes and returns the waiters placed at index, in batch order.
func (t *outcomeTracker) take(index uint64) []*waiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	return pop(t.placed, index)
}

// pop deletes key from m and returns what it held.
func pop[K comparable, V any](m map[K]V, key K) V {
	v := m[key]
	delete(m, key)
	return v
}

// settle ends w's wait with r.
func (t *outcomeTracker) settle(w *waiter, r waitResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finishLocked(w, r)
}

// leadershipLost ends every wait: a proposal still queued was never sent
// and never will be (ErrNotLeader); one sent may commit or not
// (ErrOutcomeUnknown).
func (t *outcomeTracker) leadershipLost() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for w := range t.live {
		r := waitResult{err: ErrOutcomeUnknown}
		if w.stage == waitQueued {
			r.err = ErrNotLeader
		}
		t.finishLocked(w, r)
	}
	clear(t.placed)
}

// withdraw ends the wait of a caller that stops waiting: a proposal still
// queued is not sent and gets err; one already sent gets
// ErrOutcomeUnknown; a decided one keeps its outcome.
func (t *outcomeTracker) withdraw(w *waiter, err error) (Outcome, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch w.stage {
	case waitOver:
		r := <-w.done
		return r.at, r.err
	case waitQueued:
		t.finishLocked(w, waitResult{err: err})
	default:
		t.finishLocked(w, waitResult{err: ErrOutcomeUnknown})
	}
	r := <-w.done
	return r.at, r.err
}

// finishLocked decides w's outcome once. The caller holds t.mu.
func (t *outcomeTracker) finishLocked(w *waiter, r waitResult) {
	if w.stage == waitOver {
		return
	}
	w.stage = waitOver
	delete(t.live, w)
	w.done <- r
}
