package bench

import "testing"

// BenchmarkReplicate replicates b.N entries of 256 bytes with 64
// proposals outstanding. The group is started (and elected) before the
// timer runs; entries/s and the mean commit latency come from the
// session's own clock, which starts after its garbage collection.
func BenchmarkReplicate(b *testing.B) {
	opts := Options{Window: 64, EntrySize: 256}
	for _, impl := range Implementations() {
		b.Run(impl.Name, func(b *testing.B) {
			s, err := Start(impl, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(opts.EntrySize))
			b.ResetTimer()
			res, err := s.Replicate(b.N)
			b.StopTimer()
			if cerr := s.Close(); cerr != nil {
				b.Errorf("close: %v", cerr)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.EntriesPerSec(), "entries/s")
			b.ReportMetric(float64(res.MeanLatency().Nanoseconds()), "ns-latency/entry")
			b.ReportMetric(res.PeakHeapMiB(), "peak-heap-MiB")
		})
	}
}
