package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// MaxWindow bounds a pipelined window.
const MaxWindow = 1 << 16

// Workload says how entries are proposed.
type Workload struct {
	// Proposers is the number of concurrent proposers, each waiting for
	// its entry to commit before it proposes the next: what applications
	// do. Zero with Window set means the pipelined mode.
	Proposers int
	// Window, in the pipelined mode, is how many proposals one proposer
	// keeps in flight without waiting for each: what a batch loader does,
	// and a figure no waiting application sees.
	Window    int
	EntrySize int
}

// Pipelined reports whether w is the pipelined mode.
func (w Workload) Pipelined() bool { return w.Proposers == 0 }

func (w Workload) String() string {
	if w.Pipelined() {
		return fmt.Sprintf("pipelined, window %d, %d B", w.Window, w.EntrySize)
	}
	return fmt.Sprintf("%d blocking proposer(s), %d B", w.Proposers, w.EntrySize)
}

// Validate reports the first field out of range.
func (w Workload) Validate() error {
	switch {
	case w.Proposers < 0 || w.Proposers > 4096:
		return fmt.Errorf("proposers must be within 0..4096, got %d", w.Proposers)
	case w.Pipelined() && (w.Window < 1 || w.Window > MaxWindow):
		return fmt.Errorf("a pipelined workload needs a window within 1..65536, got %d", w.Window)
	case !w.Pipelined() && w.Window != 0:
		return errors.New("a window is for the pipelined mode only (no proposers)")
	}
	return Options{EntrySize: w.EntrySize}.Validate()
}

// Timing says how long a throughput run proposes.
type Timing struct {
	// Warmup is proposed before measuring and not counted: the first
	// entries meet cold caches, an empty log and a growing heap.
	Warmup time.Duration
	// Measure is the measured span.
	Measure time.Duration
}

// Result is one throughput run.
type Result struct {
	Target   Target
	Workload Workload
	// Entries committed (applied on the leader) during the measured span.
	Entries int
	Elapsed time.Duration
	// Latency from proposal to the leader applying the entry, over the
	// entries committed in the measured span.
	LatencyP50, LatencyP99, LatencyMean time.Duration
	// Whole-process allocation deltas over the measured span: all three
	// nodes, the transport and the workload's own payloads (one of
	// EntrySize bytes per entry, the same for every library).
	Mallocs, TotalAlloc uint64
	// Fsyncs of log files over the measured span summed over the nodes;
	// FsyncsCounted is false if the library's log does not count them.
	Fsyncs        uint64
	FsyncsCounted bool
	// PeakHeap is the highest heap in use sampled in the measured span.
	PeakHeap uint64
	// LogEntries is every entry proposed in the run, warm-up included:
	// what the logs hold when the two figures below are read.
	LogEntries uint64
	// RetainedHeap is the live heap after a full collection at the end,
	// minus the same right after the election.
	RetainedHeap int64
	// PeakRSSGrowth is the process's peak RSS in the run (VmHWM, reset at
	// the start) minus its RSS at the start; 0 with RSSMeasured false
	// where /proc does not tell.
	PeakRSSGrowth int64
	RSSMeasured   bool
}

// EntriesPerSec is the throughput.
func (r Result) EntriesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Entries) / r.Elapsed.Seconds()
}

func (r Result) per(v float64) float64 {
	if r.Entries == 0 {
		return 0
	}
	return v / float64(r.Entries)
}

// AllocsPerEntry is the number of heap allocations per committed entry.
func (r Result) AllocsPerEntry() float64 { return r.per(float64(r.Mallocs)) }

// BytesPerEntry is the number of bytes allocated per committed entry.
func (r Result) BytesPerEntry() float64 { return r.per(float64(r.TotalAlloc)) }

// FsyncsPerEntryPerNode is how many log fsyncs each node did per
// committed entry; false if the library does not count them.
func (r Result) FsyncsPerEntryPerNode() (float64, bool) {
	return r.per(float64(r.Fsyncs)) / GroupSize, r.FsyncsCounted
}

// perMillion scales a byte count over LogEntries to MiB per million
// entries.
func (r Result) perMillion(bytes int64) float64 {
	if r.LogEntries == 0 {
		return 0
	}
	return float64(bytes) / float64(r.LogEntries) * 1e6 / (1 << 20)
}

// RetainedHeapMiBPerMillion is the retained heap per million entries in
// the log, in MiB.
func (r Result) RetainedHeapMiBPerMillion() float64 { return r.perMillion(r.RetainedHeap) }

// PeakRSSMiBPerMillion is the peak RSS growth per million entries in the
// log, in MiB.
func (r Result) PeakRSSMiBPerMillion() float64 { return r.perMillion(r.PeakRSSGrowth) }

// Throughput starts a group of target, runs w for the warm-up and the
// measured span, stops proposing, waits until every node applied every
// entry, checks that they all applied exactly what was proposed, and
// shuts the group down. The election, the warm-up and the shutdown are
// not part of the figures.
func Throughput(target Target, w Workload, timing Timing, opts Options) (res Result, err error) {
	if err := w.Validate(); err != nil {
		return Result{}, err
	}
	if timing.Measure <= 0 || timing.Warmup < 0 {
		return Result{}, fmt.Errorf("measured span must be positive and warm-up not negative, got %v and %v", timing.Measure, timing.Warmup)
	}
	opts.EntrySize = w.EntrySize
	opts.Proposers = max(w.Proposers, 1)
	opts.window = w.Window
	s, err := Start(target, opts)
	if err != nil {
		return Result{}, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	res, err = s.throughput(w, timing)
	if err != nil {
		return Result{}, fmt.Errorf("%s, %s: %w", target, w, err)
	}
	return res, nil
}

func (s *Session) throughput(w Workload, timing Timing) (Result, error) {
	res := Result{Target: s.target, Workload: w}
	res.RSSMeasured = resetPeakRSS()
	heap0 := liveHeap()
	rss0, _, _ := rss()
	leader := s.replicas[s.leader.Load()]

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, len(s.proposers))
	run := func(f func(*proposer, *atomic.Bool) error, pr *proposer) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(pr, &stop); err != nil {
				errs <- err
			}
		}()
	}
	if w.Pipelined() {
		run(s.pipeline(w.Window), s.proposers[0])
	} else {
		for _, pr := range s.proposers {
			run(s.blocking, pr)
		}
	}
	finish := func() error {
		stop.Store(true)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		return s.failure()
	}

	if err := s.sleep(timing.Warmup); err != nil {
		if ferr := finish(); ferr != nil {
			return Result{}, ferr
		}
		return Result{}, err
	}
	var before, after runtime.MemStats
	hist := &latencyHistogram{}
	fsyncs0, counted := s.cluster.fsyncs()
	runtime.ReadMemStats(&before)
	sampler := startHeapSampler()
	applied0 := leader.count()
	s.hist.Store(hist)
	start := time.Now()

	serr := s.sleep(timing.Measure)

	res.Elapsed = time.Since(start)
	s.hist.Store(nil)
	res.Entries = int(leader.count() - applied0)
	res.PeakHeap = sampler.stop()
	runtime.ReadMemStats(&after)
	fsyncs1, _ := s.cluster.fsyncs()
	if err := finish(); err != nil {
		return Result{}, err
	}
	if serr != nil {
		return Result{}, serr
	}
	if err := s.awaitAll(allNodes()...); err != nil {
		return Result{}, err
	}
	if err := s.verify(allNodes()...); err != nil {
		return Result{}, err
	}
	res.Mallocs, res.TotalAlloc = after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
	res.Fsyncs, res.FsyncsCounted = fsyncs1-fsyncs0, counted
	res.LatencyP50, res.LatencyP99, res.LatencyMean = hist.quantile(0.50), hist.quantile(0.99), hist.mean()
	res.LogEntries = s.proposed()
	res.RetainedHeap = int64(liveHeap()) - int64(heap0)
	if _, peak, ok := rss(); ok && res.RSSMeasured {
		res.PeakRSSGrowth = int64(peak) - int64(rss0)
	} else {
		res.RSSMeasured = false
	}
	return res, nil
}

// blocking is one proposer as applications run it: propose, wait for the
// commit, propose the next, until stopped.
func (s *Session) blocking(pr *proposer, stop *atomic.Bool) error {
	for !stop.Load() {
		if err := s.commitOne(pr.id); err != nil {
			return err
		}
	}
	return nil
}

// pipeline returns a proposer that keeps window proposals in flight:
// before proposing entry k it waits for entry k-window to be applied on
// the leader.
func (s *Session) pipeline(window int) func(*proposer, *atomic.Bool) error {
	return func(pr *proposer, stop *atomic.Bool) error {
		return s.pipelineUntil(pr, window, func() bool { return stop.Load() })
	}
}

func (s *Session) pipelineUntil(pr *proposer, window int, done func() bool) error {
	if len(pr.starts) < window {
		return fmt.Errorf("proposer %d can time %d entries in flight, not %d", pr.id, len(pr.starts), window)
	}
	for !done() {
		if pr.next >= uint64(window) {
			if err := s.untilApplied(pr, pr.next-uint64(window)+1); err != nil {
				return err
			}
		}
		data, t := s.next(pr)
		if err := s.cluster.propose(int(s.leader.Load()), data); err != nil {
			return s.explain(fmt.Errorf("proposing entry %d: %w", t.seq, err))
		}
	}
	return nil
}

// untilApplied waits, within the session's timeout, until the leader
// applied n of pr's entries.
func (s *Session) untilApplied(pr *proposer, n uint64) error {
	timer := time.AfterFunc(s.opts.Timeout, func() {
		s.fail(fmt.Errorf("the leader applied %d of proposer %d's entries, not %d, within %v (%s)", pr.w.applied.Load(), pr.id, n, s.opts.Timeout, s.leadership()))
	})
	defer timer.Stop()
	if err := pr.w.until(s.ctx, n); err != nil {
		return s.explain(err)
	}
	return nil
}
