package transport

import (
	"strings"
	"time"
)

// Stepping: after Hold, every message that survives the partitions and the
// drop and duplicate rules waits in one network-wide list, in publish order,
// instead of going to its subscription. The test then delivers them one at a
// time with DeliverNext, or a round at a time with Flush, or lets them all go
// with Release. Delay and Reorder rules do not apply to held messages: the
// test is the clock and chooses the order.

// Hold starts holding messages.
func (n *Network) Hold() {
	n.mu.Lock()
	n.held = true
	n.mu.Unlock()
}

// Release stops holding and queues every held message to its subscription,
// in publish order, without waiting for the handlers.
func (n *Network) Release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.held = false
	now := time.Now()
	for _, d := range n.pending {
		n.enqueueLocked(d, now, false)
	}
	n.pending = nil
}

// Pending returns copies of the held messages, oldest first.
func (n *Network) Pending() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Message, len(n.pending))
	for i, d := range n.pending {
		out[i] = d.msg
		out[i].Data = append([]byte(nil), d.msg.Data...)
	}
	return out
}

// DeliverNext delivers the oldest held message and waits until its handler
// returns; it reports false when nothing is held. A message whose
// subscription has gone is consumed without a handler call. It must not be
// called from a handler, whose subscription could be the one it waits on.
func (n *Network) DeliverNext() (Message, bool) {
	n.mu.Lock()
	if len(n.pending) == 0 {
		n.mu.Unlock()
		return Message{}, false
	}
	d := n.pending[0]
	n.pending[0] = nil
	n.pending = n.pending[1:]
	msg := d.msg
	msg.Data = append([]byte(nil), d.msg.Data...)
	done := make(chan struct{})
	d.done = done
	n.enqueueLocked(d, time.Now(), false)
	n.mu.Unlock()
	<-done
	return msg, true
}

// Flush delivers, one by one, the messages held when it is called and
// returns how many it took; messages the handlers publish meanwhile stay
// held for the next round.
func (n *Network) Flush() int {
	n.mu.Lock()
	count := len(n.pending)
	n.mu.Unlock()
	for i := range count {
		if _, ok := n.DeliverNext(); !ok {
			return i
		}
	}
	return count
}

// Stats counts messages on the subjects under a prefix ("" for all).
// Sent counts Publish calls; Dropped (by a partition or a rule) and
// Duplicated count per receiving subscription; Delivered counts handler
// calls that returned. Messages discarded by Unsubscribe or Close are in
// none of them.
type Stats struct {
	Sent       uint64
	Delivered  uint64
	Dropped    uint64
	Duplicated uint64
}

// Stats sums the counters of every subject that starts with subjectPrefix.
func (n *Network) Stats(subjectPrefix string) Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var sum Stats
	for subject, s := range n.stats {
		if strings.HasPrefix(subject, subjectPrefix) {
			sum.Sent += s.Sent
			sum.Delivered += s.Delivered
			sum.Dropped += s.Dropped
			sum.Duplicated += s.Duplicated
		}
	}
	return sum
}
