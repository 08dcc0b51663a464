package raftport

import (
	"errors"
	"slices"
	"sync/atomic"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// Persistence off the critical path. On a storage.DeferredWAL a running
// node writes an entry and goes on at once: the leader sends it to its
// followers while its own fsync runs, a follower takes the next append
// entry while the last one syncs. What must wait for durability waits in
// the syncer instead, a goroutine per node that awaits the WAL and then
//
//   - lets the leader count its own copy towards a commit (tryCommit
//     counts the leader only for entries durable here), and
//   - sends a follower's answers, in the order they were made, so an
//     acknowledgement never leaves before the entries it covers are on
//     disk.
//
// Writes that queue up while an fsync runs share the next one. A node
// whose run loop does not run (one stepped by hand) or whose WAL cannot
// defer writes appends synchronously, durable on return, as before.

// durableLog is what the node knows of its log's durability. Fields other
// than deferring are read and written with the node lock held.
type durableLog struct {
	// deferring is set while the syncer runs.
	deferring atomic.Bool
	// from is the first index written but not yet seen durable, 0 when
	// everything is.
	from uint64
	// ticket is that of our latest write.
	ticket storage.Ticket
	// gen counts rewrites of the log (truncation, reset, a snapshot
	// installed over it): a report for a ticket of an older generation
	// says nothing about the entries now at its indexes.
	gen uint64
}

// durableWrite is one thing that waits for the log: everything written up
// to ticket, index being the last entry that covers, then answer (a
// follower's reply to its leader, nil ar for none) may go out.
type durableWrite struct {
	wal    storage.DeferredWAL
	ticket storage.Ticket
	index  uint64
	gen    uint64
	answer aeAnswer
}

// holdsDurably reports whether our log's copy of index is durable. Lock
// held.
func (n *raft) holdsDurably(index uint64) bool {
	return n.synced.from == 0 || index < n.synced.from
}

// writeToLog appends ae's encoding to our log: deferred when the syncer
// runs and the WAL allows it, durable on return otherwise. Lock held.
func (n *raft) writeToLog(ae *appendEntry) (uint64, error) {
	if dw, ok := n.wal.(storage.DeferredWAL); ok && n.synced.deferring.Load() {
		write := dw.Write
		if ow, ok := dw.(storage.OwningDeferredWAL); ok {
			// ae.buf is never written after it is stored, as below.
			write = ow.WriteOwned
		}
		at, ticket, err := write(ae.term, ae.buf)
		if err == nil {
			n.synced.ticket = ticket
			if n.synced.from == 0 {
				n.synced.from = at
			}
		}
		return at, err
	}
	if ow, ok := n.wal.(storage.OwningWAL); ok {
		// ae.buf is never written after it is stored: see OwningWAL.
		return ow.AppendOwned(ae.term, ae.buf)
	}
	return n.wal.Append(ae.term, ae.buf)
}

// logRewritten notes that the log was cut, reset or replaced by a
// snapshot: what is left is durable (storage.WAL's Truncate promises it,
// a snapshot is written durably), and pending reports are about entries
// that may be gone. Lock held.
func (n *raft) logRewritten() {
	n.synced.from = 0
	n.synced.gen++
}

// awaitDurable queues what must wait for our latest write: the leader's
// own copy (answer empty) or a follower's answer. It reports false when
// nothing waits, so the caller acts at once. An answer that follows
// queued ones waits behind them even when nothing new was written, so
// answers keep their order. Lock held.
func (n *raft) awaitDurable(answer aeAnswer) bool {
	if n.synced.from == 0 && n.durq.Len() == 0 {
		return false
	}
	dw, ok := n.wal.(storage.DeferredWAL)
	if !ok {
		return false
	}
	n.durq.Push(durableWrite{wal: dw, ticket: n.synced.ticket, index: n.pindex, gen: n.synced.gen, answer: answer})
	return true
}

// runSyncer waits for queued writes to become durable and acts on them,
// until the node stops.
func (n *raft) runSyncer() {
	defer n.wg.Done()
	for {
		select {
		case <-n.quit:
			n.dropDurableWrites(n.durq.Pop())
			return
		case <-n.durq.Ch():
			n.syncQueued()
		}
	}
}

// syncQueued awaits everything queued with one wait on the latest ticket,
// which the WAL's group commit shares with the writes made meanwhile.
func (n *raft) syncQueued() {
	batch := n.durq.Pop()
	if len(batch) == 0 {
		return
	}
	last := batch[len(batch)-1]
	if err := last.wal.Await(last.ticket); err != nil {
		// A failed fsync poisons the WAL: nothing written since the last
		// good one can be vouched for. ErrClosed is a stop racing us.
		n.setWriteErr(err)
		n.dropDurableWrites(batch)
		return
	}
	n.Lock()
	committed, err := n.durableLocked(last)
	answers := n.answersToSend(batch)
	n.Unlock()
	for _, a := range answers {
		a.send(n)
	}
	n.durq.Recycle(&batch)
	n.afterCommit(committed, err)
}

// durableLocked records that our log is durable through w.index and, on
// the leader, commits what that completes a quorum for. Lock held.
func (n *raft) durableLocked(w durableWrite) (bool, error) {
	if w.gen != n.synced.gen || n.synced.from == 0 || w.index < n.synced.from {
		return false, nil
	}
	if w.index >= n.pindex {
		n.synced.from = 0
	} else {
		n.synced.from = w.index + 1
	}
	if n.State() != Leader {
		return false, nil
	}
	return n.commitDurable(w.index)
}

// commitDurable tries, highest first, every index up to through that
// waited for our copy: through itself (a lone node needs nobody else),
// and each index followers acknowledged. Lock held.
func (n *raft) commitDurable(through uint64) (bool, error) {
	candidates := []uint64{through}
	for index := range n.acks {
		if index > n.commit && index < through {
			candidates = append(candidates, index)
		}
	}
	slices.Sort(candidates)
	for i := len(candidates) - 1; i >= 0; i-- {
		committed, err := n.tryCommit(candidates[i])
		if committed || err != nil {
			return committed, err
		}
	}
	return false, nil
}

// answersToSend are the answers of batch still worth sending: an
// acknowledgement made before the log was rewritten is about entries that
// may be gone, and is dropped as a lost message would be. Lock held.
func (n *raft) answersToSend(batch []durableWrite) []aeAnswer {
	var answers []aeAnswer
	for _, w := range batch {
		switch {
		case w.answer.ar == nil:
		case w.gen != n.synced.gen && w.answer.ar.success:
			arPool.Put(w.answer.ar)
		default:
			answers = append(answers, w.answer)
		}
	}
	return answers
}

// dropDurableWrites recycles the answers of writes that will never be
// reported durable.
func (n *raft) dropDurableWrites(batch []durableWrite) {
	for _, w := range batch {
		if w.answer.ar != nil {
			arPool.Put(w.answer.ar)
		}
	}
}

// afterCommit is what a leader does once a commit moved or committed its
// own removal: hand over, then stop. Followers apply on the next message;
// one goes out now unless a proposal is about to anyway.
func (n *raft) afterCommit(committed bool, err error) {
	if errors.Is(err, errNodeRemoved) {
		if err := n.StepDown(); err != nil {
			n.debug("Stepdown after removal failed: %v", err)
		}
		n.Stop()
	}
	if committed && n.prop.Len() == 0 {
		n.sendHeartbeat()
	}
}
