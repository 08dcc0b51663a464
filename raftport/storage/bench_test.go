package storage

import (
	"strconv"
	"testing"
)

const benchEntrySize = 128

// batchSizes are the 1, 16 and 256.
var batchSizes = []int{1, 16, 256}

// BenchmarkFileWALAppend measures durable appends (SyncAlways, real fsync)
// with N concurrent appenders, each calling Append: this is group commit as
// a leader sees it when many proposals arrive at once. ns/op is per entry;
// fsyncs/op shows how many entries share one fsync.
func BenchmarkFileWALAppend(b *testing.B) {
	for _, n := range batchSizes {
		b.Run("appenders="+strconv.Itoa(n), func(b *testing.B) {
			benchConcurrentAppends(b, WALOptions{}, benchEntrySize, n)
		})
	}
}

// BenchmarkFileWALAppendEntries measures durable appends from one caller
// handing over N entries at a time, as a follower storing an AppendEntries
// message does. ns/op is per entry.
func BenchmarkFileWALAppendEntries(b *testing.B) {
	for _, n := range batchSizes {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) {
			w, err := OpenFileWAL(b.TempDir(), WALOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				if err := w.Close(); err != nil {
					b.Error(err)
				}
			})
			batch := make([]Entry, n)
			for i := range batch {
				batch[i] = Entry{Term: 1, Data: make([]byte, benchEntrySize)}
			}
			b.SetBytes(benchEntrySize)
			b.ResetTimer()
			for done := 0; done < b.N; done += n {
				if _, err := w.AppendEntries(batch[:min(n, b.N-done)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(w.Stats().Syncs)/float64(b.N), "fsyncs/op")
		})
	}
}

func BenchmarkMemWALAppend(b *testing.B) {
	w := NewMemWAL()
	b.Cleanup(func() {
		if err := w.Close(); err != nil {
			b.Error(err)
		}
	})
	data := make([]byte, benchEntrySize)
	b.SetBytes(benchEntrySize)
	for b.Loop() {
		if _, err := w.Append(1, data); err != nil {
			b.Fatal(err)
		}
	}
}
