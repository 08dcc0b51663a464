package transport

import (
	"container/heap"
	"sync"
	"time"
)

// Message is one copy of a published message on its way to one receiver.
type Message struct {
	From, To string // node IDs of the publisher and the subscriber
	Account  string // the account both connections are in
	Subject  string
	Reply    string
	// Data is the one copy Publish made, shared by every receiver of the
	// message and every duplicate of it: read-only (see Handler).
	Data []byte
}

// delivery is a Message queued for one subscription.
type delivery struct {
	msg   Message
	sub   *inprocSub
	due   time.Time
	seq   uint64 // breaks ties in due so equal-time messages stay FIFO
	index int    // position in the subscription's heap
	done  chan struct{}
}

// finish wakes a DeliverNext waiting on this delivery.
func (d *delivery) finish() {
	if d.done != nil {
		close(d.done)
	}
}

// inprocSub is a subscription with its own queue, ordered by due time then
// publish order, drained by its own goroutine.
type inprocSub struct {
	conn    *inprocConn
	subject string
	// wild is whether subject has wildcard tokens; every Publish tests
	// every subscription, and a literal one needs only a comparison.
	wild    bool
	handler Handler
	closed  bool // guarded by conn.net.mu

	mu       sync.Mutex
	queue    deliveryHeap
	heldBack *delivery // picked by a Reorder rule, waiting to be overtaken
	stopped  bool
	wake     chan struct{}
	quit     chan struct{}
}

func newInprocSub(c *inprocConn, subject string, h Handler) *inprocSub {
	return &inprocSub{
		conn:    c,
		subject: subject,
		wild:    hasWildcard(subject),
		handler: h,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
}

func (s *inprocSub) Subject() string { return s.subject }

// matches reports whether a published subject is one this subscription
// receives.
func (s *inprocSub) matches(subject string) bool {
	if !s.wild {
		return s.subject == subject
	}
	return subjectMatches(s.subject, subject)
}

// Unsubscribe stops delivery and discards queued messages; a handler call
// already under way, or just taken off the queue, may still complete, as
// with NATS. It does not wait, so a handler may unsubscribe itself.
func (s *inprocSub) Unsubscribe() error {
	n := s.conn.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	n.unsubscribeLocked(s)
	return nil
}

// push queues d. A message picked for reordering is held back until the
// next message to this subscription overtakes it, or until the network's
// reorder window ends; while one is held, further messages are not held.
func (s *inprocSub) push(d *delivery, reorder bool, n *Network) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.heldBack != nil:
		heap.Push(&s.queue, d)
		held := s.heldBack
		s.heldBack = nil
		n.seq++
		held.seq = n.seq
		held.due = d.due
		heap.Fix(&s.queue, held.index)
	case reorder:
		d.due = d.due.Add(n.reorderWindow)
		s.heldBack = d
		heap.Push(&s.queue, d)
	default:
		heap.Push(&s.queue, d)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop ends the delivery goroutine; the caller holds the network lock.
func (s *inprocSub) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	close(s.quit)
}

// run delivers due messages one at a time until the subscription stops.
func (s *inprocSub) run() {
	n := s.conn.net
	defer n.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.stopped {
			rest := s.queue
			s.queue = nil
			s.heldBack = nil
			s.mu.Unlock()
			for _, d := range rest {
				n.handled(d, false)
			}
			return
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-s.quit:
			}
			continue
		}
		head := s.queue[0]
		if wait := time.Until(head.due); wait > 0 {
			s.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.wake:
			case <-s.quit:
			}
			continue
		}
		heap.Pop(&s.queue)
		if head == s.heldBack {
			s.heldBack = nil
		}
		s.mu.Unlock()
		s.handler(head.msg.Subject, head.msg.Reply, head.msg.Data)
		n.handled(head, true)
	}
}

// deliveryHeap orders deliveries by due time, then by sequence.
type deliveryHeap []*delivery

func (h deliveryHeap) Len() int { return len(h) }

func (h deliveryHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}

func (h deliveryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *deliveryHeap) Push(x any) {
	d := x.(*delivery)
	d.index = len(*h)
	*h = append(*h, d)
}

func (h *deliveryHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}
