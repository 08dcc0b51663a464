package bench

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// BenchmarkDeviceRoom measures the disk, not a library: what it costs a
// log to write into space the file did not have before. Three goroutines,
// one file each as the three nodes' logs, write records of one size and
// fsync after each, over room laid down in one of four ways:
//
//   - "reused": the whole file was written and fsynced before the timer
//     started, as a log would find a segment it reuses;
//   - "zeros-ahead": zeros are written 4 MiB ahead of the records once
//     less than 2 MiB are left, and reach the disk with the next fsync,
//     as raftport's FileWAL lays down its active segment;
//   - "allocated": the same room reserved with fallocate(2) instead
//     (Linux only), which the file system marks as written at each fsync;
//   - "append": no room, every record grows the file.
//
// MB/s is the records' bytes of all three files per second; a layout that
// writes zeros also writes them, uncounted.
//
//	cd bench && go test -run '^$' -bench DeviceRoom -benchtime 1x
func BenchmarkDeviceRoom(b *testing.B) {
	for _, size := range []int{4 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10} {
		for _, layout := range []string{"reused", "zeros-ahead", "allocated", "append"} {
			b.Run(fmt.Sprintf("record=%dKiB/%s", size>>10, layout), func(b *testing.B) {
				benchRoom(b, layout, size)
			})
		}
	}
}

// roomAhead and roomTopUp are FileWAL's: how far ahead room is laid down,
// and how little may be left before more is.
const (
	roomAhead = 4 << 20
	roomTopUp = roomAhead / 2
)

func benchRoom(b *testing.B, layout string, size int) {
	const files = 3
	// Enough records per file for several top-ups of room, whatever
	// b.N is; ns/op is per round of all files' records.
	total := int64(64 << 20)
	if size < 16<<10 {
		total = 8 << 20
	}
	records := int(total) / size
	fs := deviceFiles(b, files, "room")
	if layout == "allocated" {
		if err := allocate(fs[0], 0, 1); errors.Is(err, errors.ErrUnsupported) {
			b.Skip("fallocate(2) is not available here")
		}
	}
	record := deviceRecord(size)
	zeros := make([]byte, 256<<10)
	var fsyncs int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, f := range fs {
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if layout == "reused" {
				if err := writeZeros(f, zeros, 0, total); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		var wg sync.WaitGroup
		errs := make(chan error, files)
		for _, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := writeRecords(f, layout, record, records, zeros); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		fsyncs += files * records
	}
	b.StopTimer()
	b.ReportMetric(float64(files)*float64(total)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())*files/float64(fsyncs), "µs/fsync")
}

// writeRecords writes n records to f, each fsynced, laying down room
// ahead of them as layout says.
func writeRecords(f *os.File, layout string, record []byte, n int, zeros []byte) error {
	var room int64
	for i := range n {
		off := int64(i) * int64(len(record))
		if room-off < roomTopUp {
			switch layout {
			case "zeros-ahead":
				if err := writeZeros(f, zeros, room, off+roomAhead); err != nil {
					return err
				}
				room = off + roomAhead
			case "allocated":
				if err := allocate(f, room, off+roomAhead-room); err != nil {
					return err
				}
				room = off + roomAhead
			}
		}
		if _, err := f.WriteAt(record, off); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// writeZeros writes zeros over [from, to) of f.
func writeZeros(f *os.File, zeros []byte, from, to int64) error {
	for from < to {
		n := min(int64(len(zeros)), to-from)
		if _, err := f.WriteAt(zeros[:n], from); err != nil {
			return err
		}
		from += n
	}
	return nil
}
