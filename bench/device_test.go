package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// BenchmarkDeviceFsync measures the disk, not a library: each of files
// goroutines appends a 2 KiB record to its own file and fsyncs it, as the
// nodes of a durable group in this one process do. Its fsyncs/s (all
// files together) bound every durable row of the tables: when more files
// do not add fsyncs/s, the device (or its virtual queue) serialises
// flushes, and the nodes share one flush rate.
//
//	cd bench && go test -run '^$' -bench DeviceFsync -benchtime 1500x
func BenchmarkDeviceFsync(b *testing.B) {
	for _, files := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			dir := b.TempDir() // under $TMPDIR, as the tables' logs are
			record := make([]byte, 2048)
			var wg sync.WaitGroup
			errs := make(chan error, files)
			b.ResetTimer()
			for g := range files {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f, err := os.CreateTemp(dir, fmt.Sprintf("fsync-%d-*", g))
					if err != nil {
						errs <- err
						return
					}
					defer os.Remove(f.Name())
					defer f.Close()
					for i := range b.N {
						if _, err := f.WriteAt(record, int64(i*len(record))); err != nil {
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
