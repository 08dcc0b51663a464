package bench

import (
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// smallOptions keep the correctness runs to a fraction of a second each.
func smallOptions() Options {
	return Options{Window: 16, EntrySize: 64, Timeout: 20 * time.Second}
}

// TestReplicateAppliesEveryEntryInOrder runs each implementation's group
// twice on the same session and checks, independently of the session's
// own verification, that every node applied exactly the proposed
// payloads in proposal order.
func TestReplicateAppliesEveryEntryInOrder(t *testing.T) {
	const first, second = 200, 50
	opts := smallOptions()
	pattern := newPattern(opts.EntrySize)
	var want uint32
	for seq := range uint64(first + second) {
		want = crc32.Update(want, castagnoli, payload(pattern, seq))
	}
	for _, impl := range Implementations() {
		t.Run(impl.Name, func(t *testing.T) {
			s, err := Start(impl, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			for _, n := range []int{first, second} {
				res, err := s.Replicate(n)
				if err != nil {
					t.Fatal(err)
				}
				if res.Entries != n || res.Elapsed <= 0 || res.Mallocs == 0 || res.PeakHeapInuse == 0 {
					t.Fatalf("implausible result for %d entries: %+v", n, res)
				}
			}
			counts, sums := s.Applied()
			if len(counts) != GroupSize {
				t.Fatalf("%d replicas, want %d", len(counts), GroupSize)
			}
			for i := range counts {
				if counts[i] != first+second || sums[i] != want {
					t.Errorf("node %d applied %d entries with checksum %08x, want %d with %08x",
						i, counts[i], sums[i], first+second, want)
				}
			}
		})
	}
}

func TestReplicaRejectsGapsDuplicatesAndShortEntries(t *testing.T) {
	pattern := newPattern(16)
	r := newReplica(2)
	r.expect(2)
	if _, err := r.apply(payload(pattern, 0)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{payload(pattern, 0), "applied entry 0 where 1 was due"},
		{payload(pattern, 2), "applied entry 2 where 1 was due"},
		{[]byte{1, 2, 3}, "3-byte entry"},
	} {
		_, err := r.apply(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("apply: got %v, want an error containing %q", err, tc.want)
		}
	}
	if applied, _ := r.state(); applied != 1 {
		t.Fatalf("rejected entries were counted: applied %d", applied)
	}
}

func TestReplicaSnapshotRoundTrip(t *testing.T) {
	pattern := newPattern(32)
	src := newReplica(0)
	src.expect(3)
	for seq := range uint64(3) {
		if _, err := src.apply(payload(pattern, seq)); err != nil {
			t.Fatal(err)
		}
	}
	dst := newReplica(1)
	reached := dst.expect(3)
	if err := dst.restore(src.snapshot()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	default:
		t.Fatal("restoring past the target did not signal it")
	}
	if a, b := fmtState(src), fmtState(dst); a != b {
		t.Fatalf("restored state %s, want %s", b, a)
	}
	if err := dst.restore([]byte{1}); err != errBadSnapshot {
		t.Fatalf("short snapshot: got %v, want %v", err, errBadSnapshot)
	}
	if _, err := dst.apply(payload(pattern, 3)); err != nil {
		t.Fatalf("applying after restore: %v", err)
	}
}

func fmtState(r *replica) string {
	applied, crc := r.state()
	return strings.Join([]string{string(rune('0' + applied)), string(rune(crc % 1000))}, "/")
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Window: 0, EntrySize: 64}, "window must be at least 1"},
		{Options{Window: 1, EntrySize: 7}, "entry size must be at least 8"},
		{Options{Window: 1, EntrySize: MaxEntrySize + 1}, "entry size must be at most"},
	} {
		err := tc.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.opts, err, tc.want)
		}
		if _, err := Start(Implementations()[0], tc.opts); err == nil {
			t.Errorf("%+v: Start accepted invalid options", tc.opts)
		}
	}
	if err := (Options{Window: 1, EntrySize: 8}).Validate(); err != nil {
		t.Errorf("smallest valid options refused: %v", err)
	}
}

func TestMedianAndRatios(t *testing.T) {
	runs := []Result{
		{Entries: 100, Elapsed: 3 * time.Millisecond, Mallocs: 300, TotalAlloc: 3000, PeakHeapInuse: 3 << 20, LatencySum: 300 * time.Microsecond},
		{Entries: 100, Elapsed: 1 * time.Millisecond, Mallocs: 100, TotalAlloc: 1000, PeakHeapInuse: 1 << 20, LatencySum: 100 * time.Microsecond},
		{Entries: 100, Elapsed: 2 * time.Millisecond, Mallocs: 200, TotalAlloc: 2000, PeakHeapInuse: 2 << 20, LatencySum: 200 * time.Microsecond},
	}
	got := Median(runs)
	want := []float64{50000, 20000, 2, 20, 2, 2}
	for i, m := range Metrics() {
		if diff := got[i] - want[i]; diff > 1e-6 || diff < -1e-6 {
			t.Errorf("median %s = %v, want %v", m.Name, got[i], want[i])
		}
	}
	if even := median([]float64{4, 1, 3, 2}); even != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", even)
	}
	r := Ratios([]float64{10, 4}, []float64{5, 0})
	if r[0] != 2 || r[1] != 0 {
		t.Errorf("ratios = %v, want [2 0]", r)
	}
}

func TestLookup(t *testing.T) {
	for _, impl := range Implementations() {
		got, err := Lookup(impl.Name)
		if err != nil || got.Name != impl.Name {
			t.Errorf("Lookup(%q) = %q, %v", impl.Name, got.Name, err)
		}
	}
	if _, err := Lookup("zookeeper"); err == nil || !strings.Contains(err.Error(), `unknown implementation "zookeeper"`) {
		t.Errorf("Lookup of an unknown name: %v", err)
	}
}
