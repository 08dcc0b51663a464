package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Options configure a Session.
type Options struct {
	// EntrySize is the payload size in bytes.
	EntrySize int
	// Proposers is how many proposers the replicas tell apart.
	Proposers int
	// Timeout bounds the election at Start and every wait for a commit or
	// a catch-up: a stuck group fails with an error instead of hanging.
	Timeout time.Duration
	// ElectionTimeout is the shortest wait of a follower before it
	// campaigns, in every library; 0 means DefaultElectionTimeout.
	ElectionTimeout time.Duration
	// Dir is where durable logs and node state go; "" means a fresh
	// temporary directory, removed on Close.
	Dir string
	// WrapConn, when set, wraps every raftport node's transport connection
	// (for example in an authenticating layer); other libraries ignore it.
	WrapConn func(node string, c transport.Conn) (transport.Conn, error)
	// connect replaces raftport's in-process network (NATS runs use it).
	connect func(node int, name string) (transport.Conn, error)
	// window is how many entries proposer 0 may have in flight, for its
	// latency clock; the others have one at a time.
	window int
}

// DefaultTimeout is used when Options.Timeout is zero: far longer than any
// commit takes, even under load, and short enough that a stuck run is
// retried soon.
const DefaultTimeout = 20 * time.Second

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	o.Proposers = max(o.Proposers, 1)
	if o.ElectionTimeout <= 0 {
		o.ElectionTimeout = DefaultElectionTimeout
	}
	return o
}

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case o.EntrySize < MinEntrySize:
		return fmt.Errorf("entry size must be at least %d bytes (the header), got %d", MinEntrySize, o.EntrySize)
	case o.EntrySize > MaxEntrySize:
		return fmt.Errorf("entry size must be at most %d bytes, got %d", MaxEntrySize, o.EntrySize)
	case o.ElectionTimeout > 0 && o.ElectionTimeout < 10*time.Millisecond:
		return fmt.Errorf("election timeout must be at least 10ms, got %v", o.ElectionTimeout)
	case o.Proposers > 4096:
		return fmt.Errorf("proposers must be at most 4096, got %d", o.Proposers)
	}
	return nil
}

// connWrapper is Options.WrapConn.
type connWrapper = func(node string, c transport.Conn) (transport.Conn, error)

// Session is a running group of one target with a replica per node.
type Session struct {
	target   Target
	opts     Options
	dir      string
	ownDir   bool
	cluster  cluster
	replicas []*replica
	leader   atomic.Int32 // the node proposers use and whose applies they wait on

	proposers []*proposer
	base      time.Time
	hist      atomic.Pointer[latencyHistogram] // nil while not measuring
	pattern   []byte

	ctx    context.Context
	cancel context.CancelFunc
	failed chan struct{}
	once   sync.Once
	err    error // set once, before failed is closed
}

// proposer is one client of the group: the entries it proposed so far and
// what it waits on.
type proposer struct {
	id   int
	next uint64 // sequence number of its next entry
	sum  uint32 // checksum of its payloads, in proposal order
	w    waiter
	// starts[seq % len] is when entry seq was proposed, in ns since the
	// session began; one slot per entry it may have in flight.
	starts []atomic.Int64
}

// waiter is how a proposer learns that the leader applied its entries.
type waiter struct {
	applied atomic.Uint64 // 1 + the highest sequence number applied on the leader
	ch      chan struct{} // a wake-up, buffered so that the applier never blocks
}

func (w *waiter) done(seq uint64) {
	w.applied.Store(seq + 1)
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// until waits until the leader applied n of the proposer's entries.
func (w *waiter) until(ctx context.Context, n uint64) error {
	for w.applied.Load() < n {
		select {
		case <-w.ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ticket is one proposal's claim on its commit: the proposer's waiter and
// the entry's sequence number, as stamped in its payload.
type ticket struct {
	w   *waiter
	seq uint64
}

// wait returns once the leader applied the ticket's entry.
func (t ticket) wait(ctx context.Context) error { return t.w.until(ctx, t.seq+1) }

// Start starts a group of target and waits for a leader every node
// follows; the time this takes is not part of any figure.
func Start(target Target, opts Options) (*Session, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if target.start == nil {
		return nil, fmt.Errorf("target %q has no starter; use Libraries", target)
	}
	s := &Session{target: target, opts: opts, dir: opts.Dir, failed: make(chan struct{}), base: time.Now()}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "raftbench-"+target.Library+"-")
		if err != nil {
			return nil, err
		}
		s.dir, s.ownDir = dir, true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.leader.Store(-1)
	s.pattern = newPattern(opts.EntrySize)
	for i := range GroupSize {
		s.replicas = append(s.replicas, newReplica(i, opts.Proposers, opts.EntrySize))
	}
	for p := range opts.Proposers {
		inFlight := 1
		if p == 0 {
			inFlight = max(opts.window, 1)
		}
		s.proposers = append(s.proposers, &proposer{id: p, w: waiter{ch: make(chan struct{}, 1)}, starts: make([]atomic.Int64, inFlight)})
	}
	c, err := target.start(clusterConfig{
		dir:      s.dir,
		sm:       (*sessionSM)(s),
		fail:     s.fail,
		ctx:      s.ctx,
		timeout:  opts.Timeout,
		election: opts.ElectionTimeout,
		wrap:     opts.WrapConn,
		connect:  opts.connect,
	})
	if err != nil {
		s.cancel()
		return nil, errors.Join(fmt.Errorf("%s: %w", target, err), s.removeDir())
	}
	s.cluster = c
	leader, err := waitLeader(c, opts.Timeout)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", target, err), s.Close())
	}
	s.leader.Store(int32(leader))
	return s, nil
}

func (s *Session) removeDir() error {
	if !s.ownDir {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// sessionSM is the session seen as every node's state machine.
type sessionSM Session

func (sm *sessionSM) apply(node int, data []byte) {
	s := (*Session)(sm)
	p, seq, err := s.replicas[node].apply(data)
	if err != nil {
		s.fail(err)
		return
	}
	if int32(node) != s.leader.Load() {
		return
	}
	pr := s.proposers[p]
	if h := s.hist.Load(); h != nil {
		h.add(time.Since(s.base) - time.Duration(pr.starts[seq%uint64(len(pr.starts))].Load()))
	}
	pr.w.done(seq)
}

func (sm *sessionSM) snapshot(node int) []byte { return sm.replicas[node].snapshot() }

func (sm *sessionSM) restore(node int, snap []byte) error { return sm.replicas[node].restore(snap) }

func (s *Session) fail(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.failed)
		s.cancel()
	})
}

// failure returns the error that broke the session, or nil.
func (s *Session) failure() error {
	select {
	case <-s.failed:
		return s.err
	default:
		return nil
	}
}

// sleep waits d, or less if the session fails.
func (s *Session) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.failed:
		return s.err
	}
}

// next builds proposer p's next payload and notes when it was proposed.
func (s *Session) next(pr *proposer) ([]byte, ticket) {
	seq := pr.next
	pr.next++
	data := payload(s.pattern, pr.id, seq)
	pr.sum = crc32.Update(pr.sum, castagnoli, data)
	pr.starts[seq%uint64(len(pr.starts))].Store(int64(time.Since(s.base)))
	return data, ticket{w: &pr.w, seq: seq}
}

// commitOne proposes proposer p's next entry on the leader and waits for
// its commit, within the session's timeout.
func (s *Session) commitOne(p int) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	data, t := s.next(s.proposers[p])
	if err := s.cluster.commit(ctx, int(s.leader.Load()), data, t); err != nil {
		return s.explain(fmt.Errorf("proposer %d, entry %d: %w", p, t.seq, err))
	}
	return nil
}

// explain prefers the error that broke the session to the one it caused.
func (s *Session) explain(err error) error {
	if ferr := s.failure(); ferr != nil {
		return ferr
	}
	return err
}

// proposed is the number of entries proposed so far.
func (s *Session) proposed() uint64 {
	var n uint64
	for _, pr := range s.proposers {
		n += pr.next
	}
	return n
}

// awaitAll waits until every node in nodes applied every proposed entry,
// within the session's timeout.
func (s *Session) awaitAll(nodes ...int) error { return s.awaitAllWithin(s.opts.Timeout, nodes...) }

func (s *Session) awaitAllWithin(limit time.Duration, nodes ...int) error {
	target := s.proposed()
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for _, i := range nodes {
		select {
		case <-s.replicas[i].expect(target):
		case <-s.failed:
			return s.err
		case <-timeout.C:
			return fmt.Errorf("%s: nodes applied %v of %d entries within %v (%s)", s.target, s.counts(), target, limit, s.leadership())
		}
	}
	return nil
}

// leadership says who leads now against the node proposals go to, for
// errors: a run that lost its leader may have lost a proposal with it, as
// Raft allows for an entry that was not committed.
func (s *Session) leadership() string {
	now, used := s.cluster.leader(false), s.leader.Load()
	if now == int(used) {
		return fmt.Sprintf("node %d still leads", now)
	}
	return fmt.Sprintf("proposals went to node %d, node %d leads now", used, now)
}

func (s *Session) counts() []uint64 {
	var counts []uint64
	for _, r := range s.replicas {
		counts = append(counts, r.count())
	}
	return counts
}

// allNodes is every node's index.
func allNodes() []int {
	nodes := make([]int, GroupSize)
	for i := range nodes {
		nodes[i] = i
	}
	return nodes
}

// verify checks that every node in nodes applied exactly the proposed
// entries: each proposer's in its order and with its payloads, and all of
// them in the same order on every node.
func (s *Session) verify(nodes ...int) error {
	want := s.proposed()
	var first *replicaState
	for _, i := range nodes {
		st := s.replicas[i].state()
		if st.applied != want {
			return fmt.Errorf("node %d applied %d entries, want %d", i, st.applied, want)
		}
		for p, pr := range s.proposers {
			if st.next[p] != pr.next || st.sums[p] != pr.sum {
				return fmt.Errorf("node %d applied %d entries of proposer %d (checksum %08x), want %d (%08x)",
					i, st.next[p], p, st.sums[p], pr.next, pr.sum)
			}
		}
		if first == nil {
			first = &st
		} else if st.order != first.order {
			return fmt.Errorf("node %d applied the entries in another order than node %d", i, nodes[0])
		}
	}
	return nil
}

// Applied returns how many workload entries each node applied so far and
// the checksum of their payloads in apply order, for tests comparing the
// replicas.
func (s *Session) Applied() (counts []uint64, order []uint32) {
	for _, r := range s.replicas {
		st := r.state()
		counts = append(counts, st.applied)
		order = append(order, st.order)
	}
	return counts, order
}

// Close stops the group and removes a temporary directory.
func (s *Session) Close() error {
	s.cancel()
	var err error
	if s.cluster != nil {
		err = s.cluster.close()
	}
	return errors.Join(err, s.removeDir())
}
