package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// group is a running 3-node group of one implementation.
type group interface {
	// propose hands data to the leader; it returns once the proposal is
	// accepted, not committed. data is the group's to keep.
	propose(data []byte) error
	// close stops every node and waits for every goroutine it started.
	close() error
}

// groupConfig is what an implementation needs to start its group.
type groupConfig struct {
	dir    string
	window int
	// replicas[i] is node i's state machine; the group calls apply for
	// every committed workload entry, in order, on the node that applied it.
	replicas []*replica
	apply    func(node int, data []byte)
	// fail reports an error that breaks the group (a storage failure, an
	// apply out of order) so Replicate stops waiting.
	fail    func(error)
	timeout time.Duration
	// ctx is cancelled once the session failed (or timed out) and at
	// close, for calls that would otherwise wait for a leader forever.
	ctx context.Context
}

// starter starts a group and returns it once it has a leader, with that
// leader's node index.
type starter func(cfg groupConfig) (group, int, error)

// Session is a started group on which Replicate can be called repeatedly.
type Session struct {
	impl     Impl
	opts     Options
	dir      string
	ownDir   bool
	group    group
	replicas []*replica
	leader   atomic.Int32

	win    *window
	ctx    context.Context
	cancel context.CancelFunc
	failed chan struct{}
	once   sync.Once
	err    error // set once, before failed is closed

	proposed uint64
	crc      uint32 // checksum of every payload proposed, in order
	pattern  []byte
}

// Start starts a group of impl and waits for its leader; the time this
// takes is not part of any Result.
func Start(impl Impl, opts Options) (*Session, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if impl.start == nil {
		return nil, fmt.Errorf("implementation %q has no starter; use Implementations or Lookup", impl.Name)
	}
	s := &Session{impl: impl, opts: opts, dir: opts.Dir, failed: make(chan struct{})}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "raftbench-"+impl.Name+"-")
		if err != nil {
			return nil, err
		}
		s.dir, s.ownDir = dir, true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.leader.Store(-1)
	s.win = newWindow(opts.Window)
	s.pattern = newPattern(opts.EntrySize)
	for i := range GroupSize {
		s.replicas = append(s.replicas, newReplica(i))
	}
	g, leader, err := impl.start(groupConfig{
		dir:      s.dir,
		window:   opts.Window,
		replicas: s.replicas,
		apply:    s.apply,
		fail:     s.fail,
		timeout:  opts.Timeout,
		ctx:      s.ctx,
	})
	if err != nil {
		s.cancel()
		return nil, errors.Join(fmt.Errorf("%s: %w", impl.Name, err), s.removeDir())
	}
	s.group = g
	s.leader.Store(int32(leader))
	return s, nil
}

func (s *Session) removeDir() error {
	if !s.ownDir {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// apply is every node's state machine.
func (s *Session) apply(node int, data []byte) {
	seq, err := s.replicas[node].apply(data)
	if err != nil {
		s.fail(err)
		return
	}
	if int32(node) == s.leader.Load() {
		s.win.release(seq)
	}
}

func (s *Session) fail(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.failed)
		s.cancel()
	})
}

// Replicate proposes n more entries on the leader, at most Window at a
// time, and returns once every node applied them all.
func (s *Session) Replicate(n int) (Result, error) {
	if n < 1 {
		return Result{}, fmt.Errorf("entries must be at least 1, got %d", n)
	}
	target := s.proposed + uint64(n)
	reached := make([]<-chan struct{}, 0, len(s.replicas))
	for _, r := range s.replicas {
		reached = append(reached, r.expect(target))
	}
	timeout := time.AfterFunc(s.opts.Timeout, func() { s.fail(s.timeoutError(target)) })
	defer timeout.Stop()

	// Collect the previous run's garbage so that neither the allocation
	// deltas nor the heap peak inherit it.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	heap := startHeapSampler()
	latency0 := s.win.latency.Load()
	start := time.Now()

	err := s.proposeAll(target)
	for i := 0; err == nil && i < len(reached); i++ {
		select {
		case <-reached[i]:
		case <-s.failed:
			err = s.err
		}
	}

	elapsed := time.Since(start)
	peak := heap.stop()
	runtime.ReadMemStats(&after)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", s.impl.Name, err)
	}
	if err := s.verify(target); err != nil {
		return Result{}, fmt.Errorf("%s: %w", s.impl.Name, err)
	}
	return Result{
		Impl:          s.impl.Name,
		Entries:       n,
		Elapsed:       elapsed,
		LatencySum:    time.Duration(s.win.latency.Load() - latency0),
		Mallocs:       after.Mallocs - before.Mallocs,
		TotalAlloc:    after.TotalAlloc - before.TotalAlloc,
		PeakHeapInuse: peak,
	}, nil
}

// proposeAll proposes entries s.proposed up to target.
func (s *Session) proposeAll(target uint64) error {
	for ; s.proposed < target; s.proposed++ {
		seq := s.proposed
		select {
		case s.win.slots <- struct{}{}:
		case <-s.failed:
			return s.err
		}
		data := payload(s.pattern, seq)
		s.crc = crc32.Update(s.crc, castagnoli, data)
		s.win.started(seq)
		if err := s.group.propose(data); err != nil {
			// A timeout cancels ctx, which is what ended the proposal.
			if s.ctx.Err() != nil {
				<-s.failed
				return s.err
			}
			return fmt.Errorf("proposing entry %d: %w", seq, err)
		}
	}
	return nil
}

func (s *Session) timeoutError(target uint64) error {
	var counts []uint64
	for _, r := range s.replicas {
		applied, _ := r.state()
		counts = append(counts, applied)
	}
	return fmt.Errorf("nodes applied %v of %d entries within %v", counts, target, s.opts.Timeout)
}

// verify checks that every node applied exactly the proposed entries:
// order is checked as they are applied, content by the checksum here.
func (s *Session) verify(target uint64) error {
	for i, r := range s.replicas {
		applied, crc := r.state()
		if applied != target {
			return fmt.Errorf("node %d applied %d entries, want %d", i, applied, target)
		}
		if crc != s.crc {
			return fmt.Errorf("node %d applied different payloads: checksum %08x, want %08x", i, crc, s.crc)
		}
	}
	return nil
}

// Applied returns how many workload entries each node applied so far and
// the checksum of their payloads, for tests comparing the replicas.
func (s *Session) Applied() (counts []uint64, checksums []uint32) {
	for _, r := range s.replicas {
		applied, crc := r.state()
		counts = append(counts, applied)
		checksums = append(checksums, crc)
	}
	return counts, checksums
}

// Close stops the group and removes a temporary directory.
func (s *Session) Close() error {
	s.cancel()
	return errors.Join(s.group.close(), s.removeDir())
}

// newPattern is the bytes every payload of the given size starts from:
// not all zero, so that a node applying the wrong bytes changes the
// checksum.
func newPattern(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}

// payload is entry seq: the pattern stamped with the sequence number. It
// is allocated per entry, as an application's command would be.
func payload(pattern []byte, seq uint64) []byte {
	data := make([]byte, len(pattern))
	copy(data, pattern)
	binary.BigEndian.PutUint64(data, seq)
	return data
}

// window bounds the outstanding proposals and times each one: a slot is
// taken before proposing and given back when the leader applies the entry.
// Commits come in proposal order, so entry seq reuses the slot of seq-W
// only after seq-W was released.
type window struct {
	slots   chan struct{}
	base    time.Time
	starts  []atomic.Int64 // ns since base, by seq % size
	latency atomic.Int64   // ns, summed over released entries
}

func newWindow(size int) *window {
	return &window{slots: make(chan struct{}, size), base: time.Now(), starts: make([]atomic.Int64, size)}
}

func (w *window) started(seq uint64) {
	w.starts[seq%uint64(len(w.starts))].Store(int64(time.Since(w.base)))
}

// release is called for every entry the leader applies; each had taken a
// slot before being proposed, so the receive never blocks.
func (w *window) release(seq uint64) {
	now := int64(time.Since(w.base))
	w.latency.Add(now - w.starts[seq%uint64(len(w.starts))].Load())
	<-w.slots
}
