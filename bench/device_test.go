package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// BenchmarkDeviceFsync measures the disk, not a library: each of files
// goroutines writes a 2 KiB record to its own file and fsyncs it, as the
// nodes of a durable group in this one process do. Its fsyncs/s (all
// files together) bound every durable row of the tables: when more files
// do not add fsyncs/s, the device (or its virtual queue) serialises
// flushes, and the nodes share one flush rate.
//
// Two layouts: "append" grows the file with every record, so each fsync
// also journals a new file size; "preallocated" writes over zeros laid
// down beforehand, as raftport's FileWAL does in its active segment, so
// an fsync flushes data only.
//
//	cd bench && go test -run '^$' -bench DeviceFsync -benchtime 1500x
func BenchmarkDeviceFsync(b *testing.B) {
	const recordSize = 2048
	for _, layout := range []string{"append", "preallocated"} {
		for _, files := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("%s/files=%d", layout, files), func(b *testing.B) {
				record := deviceRecord(recordSize)
				fs := deviceFiles(b, files, "fsync")
				for _, f := range fs {
					if layout == "preallocated" {
						if _, err := f.WriteAt(make([]byte, b.N*recordSize), 0); err != nil {
							b.Fatal(err)
						}
						if err := f.Sync(); err != nil {
							b.Fatal(err)
						}
					}
				}
				var wg sync.WaitGroup
				errs := make(chan error, files)
				b.ResetTimer()
				for _, f := range fs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range b.N {
							if _, err := f.WriteAt(record, int64(i*recordSize)); err != nil {
								errs <- err
								return
							}
							if err := f.Sync(); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "fsyncs/s")
			})
		}
	}
}

// deviceFiles creates n files for a device benchmark, removed when it
// ends, in a temporary directory under $TMPDIR, as the tables' logs are.
func deviceFiles(b *testing.B, n int, prefix string) []*os.File {
	dir := b.TempDir()
	fs := make([]*os.File, n)
	for i := range fs {
		f, err := os.CreateTemp(dir, fmt.Sprintf("%s-%d-*", prefix, i))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		fs[i] = f
	}
	return fs
}

// deviceRecord is a record of size bytes with no zero byte in it.
func deviceRecord(size int) []byte {
	record := make([]byte, size)
	for i := range record {
		record[i] = byte(i) | 1
	}
	return record
}
