package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyHistogram counts commit latencies in buckets 1/8 of a power of
// two wide (at most 12.5% off), from 1 µs to about 70 minutes. Adding is
// lock-free, so the libraries' apply goroutines can record into it.
type latencyHistogram struct {
	counts [histBuckets]atomic.Uint64
	sum    atomic.Int64 // ns
	n      atomic.Uint64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histBuckets = 33 * histSub
)

func histBucket(d time.Duration) int {
	us := uint64(max(d/time.Microsecond, 1))
	exp := bits.Len64(us) - 1 // us is in [2^exp, 2^(exp+1))
	if exp < histSubBits {
		return int(us)
	}
	sub := (us >> (exp - histSubBits)) & (histSub - 1)
	return min((exp-histSubBits+1)*histSub+int(sub), histBuckets-1)
}

// histLower is the smallest latency of bucket b.
func histLower(b int) time.Duration {
	if b < histSub {
		return time.Duration(b) * time.Microsecond
	}
	exp := b/histSub + histSubBits - 1
	sub := uint64(b % histSub)
	return time.Duration((1<<exp)+sub<<(exp-histSubBits)) * time.Microsecond
}

func (h *latencyHistogram) add(d time.Duration) {
	h.counts[histBucket(d)].Add(1)
	h.sum.Add(int64(d))
	h.n.Add(1)
}

// merge adds o's counts to h's.
func (h *latencyHistogram) merge(o *latencyHistogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.sum.Add(o.sum.Load())
	h.n.Add(o.n.Load())
}

// quantile returns the middle of the bucket holding quantile q (0..1), or
// 0 without samples.
func (h *latencyHistogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			return (histLower(b) + histLower(b+1)) / 2
		}
	}
	return histLower(histBuckets)
}

func (h *latencyHistogram) mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / int64(n))
}
