package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// failoverAttempts bounds the proposals a leader loss may take: each goes
// to whichever node claims to lead, and one to a node that lost its claim
// meanwhile may never commit, so each attempt proposes as a proposer of
// its own.
const failoverAttempts = 16

// failoverAttemptTimeout is how long one attempt waits for its commit
// before trying the node that leads by then.
const failoverAttemptTimeout = 2 * time.Second

// Failover starts a group of target, commits one entry, crashes the
// leader and returns the time from the crash to the next commit: what a
// client sees, mostly the election timeout. The group is idle at the
// crash, so the figure is the election's, not that of a queue draining.
func Failover(target Target, opts Options) (d time.Duration, err error) {
	opts.EntrySize = max(opts.EntrySize, MinEntrySize)
	opts.Proposers = failoverAttempts + 1
	s, err := Start(target, opts)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	if err := s.commitOne(0); err != nil {
		return 0, err
	}
	old := int(s.leader.Load())
	start := time.Now()
	if err := s.cluster.stop(old); err != nil {
		return 0, fmt.Errorf("%s: stopping the leader: %w", target, err)
	}
	deadline := start.Add(s.opts.Timeout)
	for attempt := 1; ; attempt++ {
		if attempt > failoverAttempts || time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: no commit %v after the leader stopped (%d attempts)", target, time.Since(start), attempt-1)
		}
		next := -1
		if err := waitFor(time.Until(deadline), "no new leader", func() bool {
			next = s.cluster.leader(false)
			return next >= 0 && next != old
		}); err != nil {
			return 0, fmt.Errorf("%s: %w", target, errors.Join(err, s.failure()))
		}
		s.leader.Store(int32(next))
		ctx, cancel := context.WithTimeout(s.ctx, failoverAttemptTimeout)
		data, t := s.next(s.proposers[attempt])
		err := s.cluster.commit(ctx, next, data, t)
		cancel()
		if err == nil {
			break
		}
		if ferr := s.failure(); ferr != nil {
			return 0, ferr
		}
	}
	d = time.Since(start)
	survivors := slices.DeleteFunc(allNodes(), func(i int) bool { return i == old })
	return d, s.agree(survivors)
}

// agree checks that nodes applied the same entries in the same order. It
// does not ask for every proposal: after a leader loss, one may have been
// lost with the leader, as Raft allows for an uncommitted entry.
func (s *Session) agree(nodes []int) error {
	leader := s.replicas[s.leader.Load()].count()
	for _, i := range nodes {
		if err := waitFor(s.opts.Timeout, fmt.Sprintf("node %d catching up", i), func() bool { return s.replicas[i].count() >= leader }); err != nil {
			return err
		}
	}
	first := s.replicas[nodes[0]].state()
	for _, i := range nodes[1:] {
		st := s.replicas[i].state()
		if st.applied != first.applied || st.order != first.order {
			return fmt.Errorf("node %d applied %d entries (order %08x), node %d %d (%08x)", i, st.applied, st.order, nodes[0], first.applied, first.order)
		}
	}
	return nil
}

// CatchupResult is one catch-up run.
type CatchupResult struct {
	Target       Target
	FromSnapshot bool
	// Behind is how many entries of EntrySize bytes the follower lacked
	// when restarted.
	Behind    int
	EntrySize int
	Elapsed   time.Duration
}

// EntriesPerSec is the catch-up rate.
func (r CatchupResult) EntriesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Behind) / r.Elapsed.Seconds()
}

// catchupWindow is the pipelined window that fills the log while the
// follower is down; the fill is not measured.
const catchupWindow = 256

// Catchup starts a group of target, crashes a follower, commits behind
// entries without it, optionally has the two others snapshot (dropping
// the log the follower lacks, so only a snapshot can bring it back), then
// restarts the follower with a state machine that lost everything, and
// returns the time from the restart until it applied every entry. The
// restart includes reopening the follower's own log.
func Catchup(target Target, behind, entrySize int, fromSnapshot bool, opts Options) (res CatchupResult, err error) {
	if behind < 1 {
		return CatchupResult{}, fmt.Errorf("entries behind must be at least 1, got %d", behind)
	}
	opts.EntrySize = entrySize
	opts.Proposers = 1
	opts.window = catchupWindow
	s, err := Start(target, opts)
	if err != nil {
		return CatchupResult{}, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	res = CatchupResult{Target: target, FromSnapshot: fromSnapshot, Behind: behind, EntrySize: entrySize}

	leader := int(s.leader.Load())
	lagging := (leader + 1) % GroupSize
	other := (leader + 2) % GroupSize
	if err := s.cluster.stop(lagging); err != nil {
		return res, fmt.Errorf("%s: stopping a follower: %w", target, err)
	}
	pr := s.proposers[0]
	if err := s.pipelineUntil(pr, catchupWindow, func() bool { return pr.next >= uint64(behind) }); err != nil {
		return res, err
	}
	if err := s.awaitAllWithin(s.opts.Timeout+time.Duration(behind)*time.Millisecond, leader, other); err != nil {
		return res, err
	}
	if fromSnapshot {
		for _, i := range []int{leader, other} {
			if err := s.cluster.snapshot(i); err != nil {
				return res, fmt.Errorf("%s: snapshot on node %d: %w", target, i, err)
			}
		}
	}
	s.replicas[lagging].reset()
	start := time.Now()
	if err := s.cluster.restart(lagging); err != nil {
		return res, fmt.Errorf("%s: restarting the follower: %w", target, err)
	}
	// The catch-up is allowed a millisecond per entry on top of the
	// timeout: far slower than any library, yet bounded.
	if err := s.awaitAllWithin(s.opts.Timeout+time.Duration(behind)*time.Millisecond, lagging); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	// The scenario must be the one named: a follower that caught up from
	// the log when a snapshot was wanted (or the other way round) would
	// report the other path's time.
	if restored := s.replicas[lagging].state().restores > 0; restored != fromSnapshot {
		return res, fmt.Errorf("%s: the follower installed a snapshot: %v, want %v", target, restored, fromSnapshot)
	}
	return res, s.verify(allNodes()...)
}
