package raftport

import "sync"

// IPQueue is an unbounded multi-producer queue whose consumer waits on a
// channel, so that a select loop can wait on several queues and timers at
// once. A signal on Ch means "not empty" (for a queue sharing its channel
// with others, "one of them may not be empty"); the consumer drains with
// Pop.
type IPQueue[T any] struct {
	mu    sync.Mutex
	name  string
	items []T
	ch    chan struct{}
	// shared is set when ch is a doorbell rung by several queues: a
	// signal then means "one of them may hold something", and Drain
	// leaves it alone, since it may be another queue's.
	shared bool
}

func newIPQueue[T any](name string) *IPQueue[T] {
	return &IPQueue[T]{name: name, ch: make(chan struct{}, 1)}
}

// newIPQueueRinging makes a queue that signals bell, a channel of
// capacity 1 that other queues ring too, so that a consumer of all of
// them waits on one channel instead of selecting over each.
func newIPQueueRinging[T any](name string, bell chan struct{}) *IPQueue[T] {
	return &IPQueue[T]{name: name, ch: bell, shared: true}
}

// Name is the label given at creation, for logs and metrics.
func (q *IPQueue[T]) Name() string { return q.name }

// Ch is signalled whenever the queue goes from empty to not empty.
func (q *IPQueue[T]) Ch() <-chan struct{} { return q.ch }

// Push appends e and returns the new length.
func (q *IPQueue[T]) Push(e T) int {
	q.mu.Lock()
	q.items = append(q.items, e)
	n := len(q.items)
	q.mu.Unlock()
	if n == 1 {
		q.signal()
	}
	return n
}

func (q *IPQueue[T]) signal() {
	select {
	case q.ch <- struct{}{}:
	default:
	}
}

// Pop takes every queued item; nil when empty.
func (q *IPQueue[T]) Pop() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	out := q.items
	q.items = nil
	return out
}

// PopOne takes the oldest item. When more remain the channel is signalled
// again, so a consumer that takes one at a time is woken for the rest.
func (q *IPQueue[T]) PopOne() (T, bool) {
	q.mu.Lock()
	var zero T
	if len(q.items) == 0 {
		q.mu.Unlock()
		return zero, false
	}
	e := q.items[0]
	q.items[0] = zero
	q.items = q.items[1:]
	more := len(q.items) > 0
	q.mu.Unlock()
	if more {
		q.signal()
	}
	return e, true
}

// Len is the number of queued items.
func (q *IPQueue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Recycle gives back a slice returned by Pop once the consumer is done, so
// its backing array can hold the next batch.
func (q *IPQueue[T]) Recycle(batch *[]T) {
	if batch == nil || *batch == nil {
		return
	}
	var zero T
	for i := range *batch {
		(*batch)[i] = zero
	}
	q.mu.Lock()
	if q.items == nil {
		q.items = (*batch)[:0]
	}
	q.mu.Unlock()
	*batch = nil
}

// Drain empties the queue and returns how many items it dropped.
func (q *IPQueue[T]) Drain() int {
	q.mu.Lock()
	n := len(q.items)
	q.items = nil
	q.mu.Unlock()
	if !q.shared {
		select {
		case <-q.ch:
		default:
		}
	}
	return n
}
