package storage

// Fuzz targets for every decoder of the files this package reads: WAL
// segments (records), the checksummed container of tav.idx, peers.idx,
// snapshots and wal.meta, snapshot files and the file names that carry
// indexes. Each checks that what decodes matches what the writer would
// produce, and that what does not is refused as ErrCorrupt. `go test` runs
// the f.Add seeds and testdata/fuzz; `go test -fuzz FuzzX -run '^$' .`
// explores further.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Ways a fuzz input becomes a segment: as it is, with every record's
// checksum made good, or with checksums and indexes made good, so that the
// fuzzer reaches the checks behind the checksum.
const (
	segmentRaw = iota
	segmentFixCRC
	segmentFixCRCAndIndex
	segmentModes
)

// repairSegment walks buf as the scanner does and rewrites the checksum
// (and, if asked, the index) of every record whose length fits.
func repairSegment(buf []byte, first uint64, mode uint8) []byte {
	buf = bytes.Clone(buf)
	mode %= segmentModes
	if mode == segmentRaw {
		return buf
	}
	index := first
	for off := 0; len(buf)-off >= recordHeaderLen; index++ {
		rec := buf[off:]
		size := binary.LittleEndian.Uint32(rec)
		if uint64(len(rec)-recordHeaderLen) < uint64(size) {
			break
		}
		rec = rec[:recordHeaderLen+int(size)]
		if mode == segmentFixCRCAndIndex {
			binary.LittleEndian.PutUint64(rec[8:], index)
		}
		binary.LittleEndian.PutUint32(rec[4:], recordCRC(rec))
		off += len(rec)
	}
	return buf
}

// seedSegment is a sound segment of three records starting at first.
func seedSegment(first uint64) []byte {
	var buf []byte
	for i, data := range []string{"one", "", "three, a little longer"} {
		buf = appendRecord(buf, first+uint64(i), 7+uint64(i), []byte(data))
	}
	return buf
}

// rebuildSegment writes the records scan found with the writer's own
// encoding, so that a scan can be compared with the bytes it read.
func rebuildSegment(buf []byte, first uint64, scan segmentScan) []byte {
	var out []byte
	for i, rec := range scan.recs {
		payload := buf[rec.off+recordHeaderLen : rec.off+recordHeaderLen+int64(rec.size)]
		out = appendRecord(out, first+uint64(i), rec.term, payload)
	}
	return out
}

func FuzzScanSegment(f *testing.F) {
	seg := seedSegment(5)
	f.Add(seg, uint64(5), uint8(segmentRaw))
	f.Add(seg[:len(seg)-3], uint64(5), uint8(segmentRaw))
	f.Add(append(bytes.Clone(seg), make([]byte, 40)...), uint64(5), uint8(segmentRaw))
	f.Add(seg, uint64(6), uint8(segmentFixCRC))
	f.Add([]byte("\x03\x00\x00\x00garbage-header-and-more!abc"), uint64(1), uint8(segmentFixCRCAndIndex))
	f.Fuzz(func(t *testing.T, data []byte, first uint64, mode uint8) {
		buf := repairSegment(data, first, mode)
		scan, err := scanSegment("seg", bytes.Clone(buf), first)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused with %v, want ErrCorrupt", err)
			}
			return
		}
		if scan.end < 0 || scan.end > int64(len(buf)) || (scan.torn == "") != (scan.end == int64(len(buf))) {
			t.Fatalf("scan of %d bytes ends at %d with torn %q", len(buf), scan.end, scan.torn)
		}
		if got := rebuildSegment(buf, first, scan); !bytes.Equal(got, buf[:scan.end]) {
			t.Fatalf("records found re-encode differently:\n in %x\nout %x", buf[:scan.end], got)
		}
		// A torn tail must not start with a whole record: the scan would
		// have taken it.
		if scan.torn != "" {
			tail, err := scanSegment("tail", bytes.Clone(buf[scan.end:]), first+uint64(len(scan.recs)))
			if err == nil && len(tail.recs) > 0 {
				t.Fatalf("torn tail %x (%s) holds a sound record", buf[scan.end:], scan.torn)
			}
		}
	})
}

// fuzzDir is one directory per fuzz worker, on tmpfs when the machine has
// it: the targets below write files for every input.
func fuzzDir(f *testing.F) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "raftport-storage-fuzz-")
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return f.TempDir()
}

// writeFuzzFile puts data at path either as the node's files are written
// (inside the checksummed container) or raw, as damage would leave it.
func writeFuzzFile(t *testing.T, path string, data []byte, raw bool) {
	t.Helper()
	var err error
	if raw {
		err = os.WriteFile(path, data, 0o644)
	} else {
		err = WriteFileAtomic(OSFS{}, path, data)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzReadFileChecked(f *testing.F) {
	f.Add([]byte("payload"), false)
	f.Add([]byte{}, false)
	f.Add([]byte("payload\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true)
	f.Add([]byte("short"), true)
	dir := fuzzDir(f)
	path, again := filepath.Join(dir, "state.idx"), filepath.Join(dir, "again.idx")
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		writeFuzzFile(t, path, data, raw)
		payload, err := ReadFileChecked(OSFS{}, path)
		if err != nil {
			if !raw || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if !raw && !bytes.Equal(payload, data) {
			t.Fatalf("read back %x, wrote %x", payload, data)
		}
		// What was accepted is exactly what the writer makes of its payload.
		if err := WriteFileAtomic(OSFS{}, again, payload); err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rewritten, err := os.ReadFile(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onDisk, rewritten) {
			t.Fatalf("accepted file %x, the writer makes %x of its payload", onDisk, rewritten)
		}
	})
}

func FuzzSnapshotLoad(f *testing.F) {
	header := func(term, index uint64) []byte {
		b := append([]byte(nil), snapMagic[:]...)
		b = binary.LittleEndian.AppendUint64(b, term)
		return binary.LittleEndian.AppendUint64(b, index)
	}
	f.Add(append(header(3, 9), "state"...), uint64(3), uint64(9), false)
	f.Add(append(header(3, 9), "state"...), uint64(3), uint64(10), false)
	f.Add(header(0, 1)[:20], uint64(0), uint64(1), false)
	f.Add([]byte("RPSNAP01"), uint64(1), uint64(1), true)
	dir := fuzzDir(f)
	store := NewSnapshotStore(OSFS{}, dir)
	f.Fuzz(func(t *testing.T, data []byte, term, index uint64, raw bool) {
		path := filepath.Join(dir, SnapshotFileName(term, index))
		writeFuzzFile(t, path, data, raw)
		defer os.Remove(path)
		got, err := store.Load(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused with %v, want ErrCorrupt", err)
			}
			return
		}
		if raw {
			if data, err = verifyChecked(path, data); err != nil {
				t.Fatalf("Load accepted a file its container check refuses: %v", err)
			}
		}
		if want := header(term, index); len(data) < len(want) || !bytes.Equal(data[:len(want)], want) || !bytes.Equal(got, data[len(want):]) {
			t.Fatalf("snapshot %s with payload %x loaded as %x", filepath.Base(path), data, got)
		}
	})
}

func FuzzFileNames(f *testing.F) {
	for _, name := range []string{"snap.3.9", "/x/snaps/snap.18446744073709551615.1", "snap.03.9", "snap.3.9.tmp-x", "snap.+3.9",
		segmentName(1), "00000000000000000000.seg", "0000000000000000001.seg", "99999999999999999999.seg"} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if term, index, err := TermAndIndexFromSnapFile(name); err == nil {
			if base := filepath.Base(name); SnapshotFileName(term, index) != base {
				t.Fatalf("%q read as snapshot %d/%d, which is named %q", name, term, index, SnapshotFileName(term, index))
			}
		} else if term != 0 || index != 0 {
			t.Fatalf("refused %q but returned %d/%d", name, term, index)
		}
		if first, ok := parseSegmentName(name); ok && (first == 0 || segmentName(first) != name) {
			t.Fatalf("%q read as the segment starting at %d, which is named %q", name, first, segmentName(first))
		}
	})
}

// FuzzOpenFileWAL recovers a WAL whose only segment holds the fuzz input:
// the open must either refuse it as corrupt or serve exactly the records a
// scan finds, cut a torn tail for good, and keep working.
func FuzzOpenFileWAL(f *testing.F) {
	seg := seedSegment(1)
	f.Add(seg, uint8(segmentRaw))
	f.Add(seg[:len(seg)-2], uint8(segmentRaw))
	f.Add(append(bytes.Clone(seg), 0xff, 0, 0), uint8(segmentRaw))
	f.Add(seedSegment(2), uint8(segmentFixCRCAndIndex))
	f.Add([]byte{}, uint8(segmentRaw))
	base := fuzzDir(f)
	var runs int
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		runs++
		dir := filepath.Join(base, strconv.Itoa(runs))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		meta := binary.LittleEndian.AppendUint64(append([]byte(nil), metaMagic[:]...), 1)
		if err := WriteFileAtomic(OSFS{}, filepath.Join(dir, metaFile), meta); err != nil {
			t.Fatal(err)
		}
		buf := repairSegment(data, 1, mode)
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := WALOptions{SegmentSize: 1 << 16, CacheEntries: -1}
		w, err := OpenFileWAL(dir, opts)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open refused with %v, want ErrCorrupt", err)
			}
			return
		}
		open := w
		defer func() { open.Close() }()
		scan, err := scanSegment("seg", bytes.Clone(buf), 1)
		if err != nil {
			t.Fatalf("open accepted a segment the scan refuses: %v", err)
		}
		checkServes(t, w, buf, scan)
		if r := w.Recovery(); r.TornSize != int64(len(buf))-scan.end {
			t.Errorf("recovery cut %d bytes, the torn tail is %d", r.TornSize, int64(len(buf))-scan.end)
		}
		next, err := w.Append(99, []byte("after recovery"))
		if err != nil || next != uint64(len(scan.recs))+1 {
			t.Fatalf("append after recovery at %d: %v", next, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// The cut was made for good: a second open finds nothing torn.
		w, err = OpenFileWAL(dir, opts)
		if err != nil {
			t.Fatalf("reopen after recovery: %v", err)
		}
		open = w
		if r := w.Recovery(); r.TornSize != 0 {
			t.Errorf("second open cut %d more bytes", r.TornSize)
		}
		if st := w.State(); st.LastIndex != next {
			t.Errorf("reopened WAL ends at %d, want %d", st.LastIndex, next)
		}
	})
}

// checkServes checks that w holds exactly the records scan found in buf.
func checkServes(t *testing.T, w *FileWAL, buf []byte, scan segmentScan) {
	t.Helper()
	st := w.State()
	if st.FirstIndex != 1 || st.LastIndex != uint64(len(scan.recs)) || st.Entries != uint64(len(scan.recs)) {
		t.Fatalf("recovered state %+v, the segment holds %d records", st, len(scan.recs))
	}
	for i, rec := range scan.recs {
		term, data, err := w.Load(uint64(i) + 1)
		want := buf[rec.off+recordHeaderLen : rec.off+recordHeaderLen+int64(rec.size)]
		if err != nil || term != rec.term || !bytes.Equal(data, want) {
			t.Fatalf("Load(%d) = %d %x %v, want %d %x", i+1, term, data, err, rec.term, want)
		}
	}
}
