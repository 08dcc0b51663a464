package bench

import (
	"testing"
	"time"
)

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		vals []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{3, 1, 2}, Spread{Median: 2, Min: 1, Max: 3, Runs: 3}},
		{[]float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4, Runs: 4}},
	} {
		if got := SpreadOf(tc.vals); got != tc.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", tc.vals, got, tc.want)
		}
	}
}

func TestLatencyHistogramQuantiles(t *testing.T) {
	var h latencyHistogram
	if h.quantile(0.5) != 0 || h.mean() != 0 {
		t.Fatal("an empty histogram reports latencies")
	}
	// 90 fast entries and 10 slow ones.
	for range 90 {
		h.add(100 * time.Microsecond)
	}
	for range 10 {
		h.add(20 * time.Millisecond)
	}
	within := func(got, want time.Duration) bool { return got >= want*7/8 && got <= want*9/8 }
	if p50 := h.quantile(0.5); !within(p50, 100*time.Microsecond) {
		t.Errorf("p50 = %v, want about 100µs", p50)
	}
	if p99 := h.quantile(0.99); !within(p99, 20*time.Millisecond) {
		t.Errorf("p99 = %v, want about 20ms", p99)
	}
	if m := h.mean(); m != (90*100*time.Microsecond+10*20*time.Millisecond)/100 {
		t.Errorf("mean = %v", m)
	}
	var merged latencyHistogram
	merged.merge(&h)
	if merged.quantile(0.99) != h.quantile(0.99) || merged.n.Load() != 100 {
		t.Error("merge lost samples")
	}
}

func TestLatencyBucketsCoverEveryDuration(t *testing.T) {
	prev := -1
	for us := time.Duration(1); us < 10*time.Hour; us = us*9/8 + 1 {
		d := us * time.Microsecond
		b := histBucket(d)
		if b < prev {
			t.Fatalf("bucket of %v is %d, below %d for a shorter one", d, b, prev)
		}
		if b < histBuckets-1 && (d < histLower(b) || d >= histLower(b+1)) {
			t.Fatalf("%v in bucket %d, which spans [%v, %v)", d, b, histLower(b), histLower(b+1))
		}
		prev = b
	}
}
