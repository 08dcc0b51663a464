package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// walBenchSizes are the benchmark harness's entry sizes: a small command
// and a 4 KiB one.
var walBenchSizes = []int{64, 4096}

// BenchmarkFileWALGroupCommit measures durable appends (SyncAlways, real
// fsync) from N concurrent appenders of one entry each, as a leader's
// proposals arrive: 1 is one waiting client, 64 the harness's 64 blocking
// proposers. ns/op is per entry; fsyncs/op below 1 is group commit at
// work, and allocs/op is what an append costs the heap.
func BenchmarkFileWALGroupCommit(b *testing.B) {
	for _, size := range walBenchSizes {
		for _, appenders := range []int{1, 64} {
			b.Run(fmt.Sprintf("size=%d/appenders=%d", size, appenders), func(b *testing.B) {
				benchConcurrentAppends(b, WALOptions{}, size, appenders)
			})
		}
	}
}

// BenchmarkFileWALAppendNoFsync is the same append path with the fsync
// taken off it (SyncEvery an hour). UNSAFE, and measurement only: it shows
// what the WAL costs besides the disk's flush.
func BenchmarkFileWALAppendNoFsync(b *testing.B) {
	for _, size := range walBenchSizes {
		for _, appenders := range []int{1, 64} {
			b.Run(fmt.Sprintf("size=%d/appenders=%d", size, appenders), func(b *testing.B) {
				benchConcurrentAppends(b, WALOptions{Sync: SyncEvery(time.Hour)}, size, appenders)
			})
		}
	}
}

func benchConcurrentAppends(b *testing.B, opts WALOptions, size, appenders int) {
	w, err := OpenFileWAL(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := w.Close(); err != nil {
			b.Error(err)
		}
	})
	data := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	before := w.Stats().Syncs
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for g := range appenders {
		count := b.N / appenders
		if g < b.N%appenders {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range count {
				if _, err := w.Append(1, data); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(w.Stats().Syncs-before)/float64(b.N), "fsyncs/op")
}

// BenchmarkFileWALLoad reads entries back: from the cache of recent
// entries (a leader sending what it just appended) and from the segment
// files (a catch-up reading an old tail).
func BenchmarkFileWALLoad(b *testing.B) {
	const entries = 4 * DefaultCacheEntries
	for _, size := range walBenchSizes {
		w, err := OpenFileWAL(b.TempDir(), WALOptions{Sync: SyncEvery(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]Entry, entries)
		for i := range batch {
			batch[i] = Entry{Term: 1, Data: make([]byte, size)}
		}
		if _, err := w.AppendEntries(batch); err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			first uint64
		}{{"cached", entries - DefaultCacheEntries + 1}, {"from-file", 1}} {
			b.Run(fmt.Sprintf("size=%d/%s", size, tc.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, _, err := w.Load(tc.first + uint64(i%DefaultCacheEntries)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
