package transport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// NetworkOptions configures an in-process Network.
type NetworkOptions struct {
	// Seed drives every random fault decision and every inbox name, so a
	// test that publishes in the same order sees the same faults.
	Seed int64
	// ReorderWindow bounds how long a message picked by a Reorder rule
	// waits for a later message to overtake it; zero means 20ms.
	ReorderWindow time.Duration
	// NoEcho keeps a connection's publishes from its own subscriptions, as
	// the reference's send queue never hands a node its own messages back.
	NoEcho bool
}

const defaultReorderWindow = 20 * time.Millisecond

// Network is an in-process message bus for deterministic tests. Every node
// connects with its own ID; faults are scripted per sender, receiver and
// subject prefix.
//
// Delivery: each subscription owns a queue and a goroutine, so a slow
// handler never blocks a publisher or another subscription; messages on one
// subscription are handled one at a time in the order they became due.
// Publish copies data once, so the caller may reuse it, and every receiver
// (and every copy a Duplicate rule makes) gets that one copy: handlers
// must not modify it (see Handler).
//
// Faults and partitions are decided when a message is published, one
// decision per receiving subscription, drawing from the seeded source in
// subscription order; a message a node publishes to itself is never cut by
// a partition.
type Network struct {
	mu            sync.Mutex
	rng           *rand.Rand
	reorderWindow time.Duration
	noEcho        bool
	conns         map[endpoint]*inprocConn
	subs          []*inprocSub // in subscription order, so decisions are deterministic
	inboxes       map[string]struct{}
	seq           uint64
	closed        bool

	rules    []*rule
	nextRule RuleID
	blocked  map[link]struct{}
	isolated map[string]struct{}

	held    bool
	pending []*delivery

	stats    map[string]*Stats // by exact subject
	inflight int               // queued in subscriptions or in a handler
	idle     *sync.Cond        // signalled when inflight drops

	wg sync.WaitGroup
}

// link is a directed sender-to-receiver pair.
type link struct{ from, to string }

// endpoint is a node's connection within one account.
type endpoint struct{ account, node string }

// NewNetwork returns an empty network.
func NewNetwork(opts NetworkOptions) *Network {
	window := opts.ReorderWindow
	if window <= 0 {
		window = defaultReorderWindow
	}
	seed := uint64(opts.Seed)
	n := &Network{
		rng:           rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		reorderWindow: window,
		noEcho:        opts.NoEcho,
		conns:         make(map[endpoint]*inprocConn),
		inboxes:       make(map[string]struct{}),
		blocked:       make(map[link]struct{}),
		isolated:      make(map[string]struct{}),
		stats:         make(map[string]*Stats),
	}
	n.idle = sync.NewCond(&n.mu)
	return n
}

// Dial connects a node. An ID may be reused once its previous connection is
// closed, which is how a test restarts a node.
func (n *Network) Dial(nodeID string) (Conn, error) {
	return n.DialAccount(nodeID, "")
}

// DialAccount connects a node within an account: connections see only the
// traffic of their own account, as NATS accounts do, so one node may hold
// a connection per account (the reference's NRG traffic account). Faults
// and partitions name nodes, and so cut every account of a node alike.
func (n *Network) DialAccount(nodeID, account string) (Conn, error) {
	if nodeID == "" {
		return nil, errors.New("transport: empty node ID")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	key := endpoint{account, nodeID}
	if _, ok := n.conns[key]; ok {
		return nil, fmt.Errorf("transport: node %q is already connected in account %q", nodeID, account)
	}
	c := &inprocConn{net: n, id: nodeID, account: account}
	n.conns[key] = c
	return c, nil
}

// Connect is Dial for test scripts: a bad node ID is a bug in the test, so
// it panics with Dial's error.
func (n *Network) Connect(nodeID string) Conn {
	c, err := n.Dial(nodeID)
	if err != nil {
		panic(err)
	}
	return c
}

// Close closes every connection and waits for every delivery goroutine to
// exit. It must not be called from a handler.
func (n *Network) Close() {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for _, c := range n.conns {
			c.closeLocked()
		}
		for _, d := range n.pending {
			d.finish()
		}
		n.pending = nil
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// WaitIdle waits until no message is queued in or being handled by any
// subscription (held messages do not count), or until timeout. Called
// from a handler it would wait for itself, and so time out.
func (n *Network) WaitIdle(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	// A Cond cannot wait with a deadline, so a timer broadcasts once to
	// wake the waiter when the time is up.
	t := time.AfterFunc(timeout, func() {
		n.mu.Lock()
		n.idle.Broadcast()
		n.mu.Unlock()
	})
	defer t.Stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	for n.inflight > 0 {
		if !time.Now().Before(deadline) {
			return fmt.Errorf("transport: %d messages still in flight after %v", n.inflight, timeout)
		}
		n.idle.Wait()
	}
	return nil
}

// statsLocked returns the counters of one exact subject.
func (n *Network) statsLocked(subject string) *Stats {
	s := n.stats[subject]
	if s == nil {
		s = &Stats{}
		n.stats[subject] = s
	}
	return s
}

// newInbox draws reply inboxes from the seeded source, redrawing the rare
// collision so that every inbox is unique within the network.
func (n *Network) newInbox() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		inbox := ReplyInbox(inboxSuffix(n.rng.Uint64()))
		if _, dup := n.inboxes[inbox]; !dup {
			n.inboxes[inbox] = struct{}{}
			return inbox
		}
	}
}

// publish routes one message from a node to every matching subscription.
func (n *Network) publish(from *inprocConn, subject, reply string, data []byte, owned bool) error {
	if err := checkSubject(subject, false); err != nil {
		return err
	}
	if reply != "" {
		if err := checkSubject(reply, false); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || from.closed {
		return ErrClosed
	}
	st := n.statsLocked(subject)
	st.Sent++
	now := time.Now()
	// The copy is made at the first delivery, so a message nobody
	// receives costs none.
	var shared []byte
	copied := false
	for _, s := range n.subs {
		if s.closed || s.conn.account != from.account || (n.noEcho && s.conn == from) || !s.matches(subject) {
			continue
		}
		msg := Message{From: from.id, To: s.conn.id, Account: from.account, Subject: subject, Reply: reply}
		fate := n.decideLocked(msg)
		if fate.drop {
			st.Dropped++
			continue
		}
		st.Duplicated += uint64(fate.copies - 1)
		if !copied && owned {
			copied, shared = true, data[:len(data):len(data)]
		}
		if !copied {
			copied = true
			// cap == len, so a receiver appending to its data gets a new
			// array instead of writing, concurrently with the others,
			// into spare capacity they all share.
			if len(data) > 0 {
				shared = make([]byte, len(data))
				copy(shared, data)
			}
		}
		msg.Data = shared
		for range fate.copies {
			d := &delivery{msg: msg, sub: s}
			if n.held {
				n.pending = append(n.pending, d)
				continue
			}
			n.enqueueLocked(d, now.Add(fate.delay), fate.reorder)
		}
	}
	return nil
}

// enqueueLocked hands a delivery to its subscription's queue.
func (n *Network) enqueueLocked(d *delivery, due time.Time, reorder bool) {
	if d.sub.closed {
		d.finish()
		return
	}
	n.seq++
	d.seq = n.seq
	d.due = due
	n.inflight++
	d.sub.push(d, reorder, n)
}

// handled is called by a delivery goroutine after a handler returns or a
// queued message is discarded.
func (n *Network) handled(d *delivery, delivered bool) {
	n.mu.Lock()
	if delivered {
		n.statsLocked(d.msg.Subject).Delivered++
	}
	n.inflight--
	if n.inflight == 0 {
		n.idle.Broadcast()
	}
	n.mu.Unlock()
	d.finish()
}

// inprocConn is one node's endpoint on a Network.
type inprocConn struct {
	net     *Network
	id      string
	account string
	closed  bool // guarded by net.mu
	subs    []*inprocSub
}

func (c *inprocConn) Publish(subject, reply string, data []byte) error {
	return c.net.publish(c, subject, reply, data, false)
}

// PublishOwned delivers data itself, capped at its length, to every
// receiver: see OwningConn.
func (c *inprocConn) PublishOwned(subject, reply string, data []byte) error {
	return c.net.publish(c, subject, reply, data, true)
}

func (c *inprocConn) Subscribe(subject string, h Handler) (Subscription, error) {
	if err := checkSubject(subject, true); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("transport: nil handler")
	}
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || c.closed {
		return nil, ErrClosed
	}
	s := newInprocSub(c, subject, h)
	c.subs = append(c.subs, s)
	n.subs = append(n.subs, s)
	n.wg.Add(1)
	go s.run()
	return s, nil
}

func (c *inprocConn) NewInbox() string { return c.net.newInbox() }

// Close unsubscribes everything and frees the node ID for a new Dial.
func (c *inprocConn) Close() error {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.closeLocked()
	return nil
}

func (c *inprocConn) closeLocked() {
	c.closed = true
	subs := c.subs
	c.subs = nil
	for _, s := range subs {
		c.net.unsubscribeLocked(s)
	}
	key := endpoint{c.account, c.id}
	if c.net.conns[key] == c {
		delete(c.net.conns, key)
	}
}

func (n *Network) unsubscribeLocked(s *inprocSub) {
	if s.closed {
		return
	}
	s.closed = true
	s.stop()
	for i, other := range n.subs {
		if other == s {
			n.subs = append(n.subs[:i], n.subs[i+1:]...)
			break
		}
	}
	c := s.conn
	for i, other := range c.subs {
		if other == s {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
}
