package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// smallSegments makes the conformance data (100 entries of 10-59 bytes)
// span many segments, so every operation crosses segment boundaries.
const smallSegments = 400

func openTestWAL(t *testing.T, dir string, opts WALOptions) *FileWAL {
	t.Helper()
	w, err := OpenFileWAL(dir, opts)
	if err != nil {
		t.Fatalf("open WAL: %v", err)
	}
	t.Cleanup(func() {
		// Tests that close the WAL themselves leave ErrClosed here.
		if err := w.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close WAL: %v", err)
		}
	})
	return w
}

func TestFileWALConformance(t *testing.T) {
	for _, cache := range []int{-1, 8} {
		t.Run("cache="+strconv.Itoa(cache), func(t *testing.T) {
			runConformance(t, func(t *testing.T) WAL {
				return openTestWAL(t, t.TempDir(), WALOptions{SegmentSize: smallSegments, CacheEntries: cache})
			})
		})
	}
}

func TestFileWALConformanceOnCrashFS(t *testing.T) {
	runConformance(t, func(t *testing.T) WAL {
		fs := NewCrashFS(t.TempDir())
		return openTestWAL(t, "wal", WALOptions{FS: fs, SegmentSize: smallSegments, CacheEntries: -1})
	})
}

// reopeningWAL closes and reopens its FileWAL after every change, so the
// conformance suite checks that each change survives a restart.
type reopeningWAL struct {
	t    *testing.T
	dir  string
	opts WALOptions
	*FileWAL
	closed bool
}

func (r *reopeningWAL) reopen(err error) error {
	if err != nil || r.closed {
		return err
	}
	if cerr := r.FileWAL.Close(); cerr != nil {
		r.t.Fatalf("close before reopen: %v", cerr)
	}
	w, oerr := OpenFileWAL(r.dir, r.opts)
	if oerr != nil {
		r.t.Fatalf("reopen: %v", oerr)
	}
	r.FileWAL = w
	return nil
}

func (r *reopeningWAL) Append(term uint64, data []byte) (uint64, error) {
	i, err := r.FileWAL.Append(term, data)
	return i, r.reopen(err)
}
func (r *reopeningWAL) Truncate(index uint64) error { return r.reopen(r.FileWAL.Truncate(index)) }
func (r *reopeningWAL) Compact(index uint64) error  { return r.reopen(r.FileWAL.Compact(index)) }
func (r *reopeningWAL) Close() error {
	r.closed = true
	return r.FileWAL.Close()
}

func TestFileWALConformanceAcrossReopen(t *testing.T) {
	runConformance(t, func(t *testing.T) WAL {
		r := &reopeningWAL{t: t, dir: t.TempDir(), opts: WALOptions{SegmentSize: smallSegments}}
		w, err := OpenFileWAL(r.dir, r.opts)
		if err != nil {
			t.Fatal(err)
		}
		r.FileWAL = w
		t.Cleanup(func() {
			if err := r.FileWAL.Close(); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("close: %v", err)
			}
		})
		return r
	})
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestFileWALReopenPreservesEverything(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	appendN(t, w, 120, termByTen)
	if err := w.Compact(40); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(100); err != nil {
		t.Fatal(err)
	}
	want := w.State()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n < 5 {
		t.Fatalf("only %d segments; the test wants several", n)
	}
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	wantState(t, w2, want)
	for i := want.FirstIndex; i <= want.LastIndex; i++ {
		wantEntry(t, w2, i, termByTen(i))
	}
	if r := w2.Recovery(); r != (Recovery{}) {
		t.Fatalf("clean reopen reported a recovery: %+v", r)
	}
}

func TestFileWALDeleteRemovesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := OpenFileWAL(dir, WALOptions{SegmentSize: smallSegments})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 30, termByTen)
	if err := w.Delete(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL directory still there: %v", err)
	}
	if _, err := w.Append(1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after delete: %v", err)
	}
}

func TestFileWALRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]WALOptions{
		"negative segment": {SegmentSize: -1},
		"zero interval":    {Sync: SyncEvery(0)},
	} {
		if _, err := OpenFileWAL(t.TempDir(), opts); err == nil {
			t.Errorf("%s: open succeeded", name)
		}
	}
}

func TestFileWALAppendEntriesBatch(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	var batch []Entry
	for i := uint64(1); i <= 40; i++ {
		batch = append(batch, Entry{Term: termByTen(i), Data: payload(i, 10+int(i%50))})
	}
	first, err := w.AppendEntries(batch)
	if err != nil || first != 1 {
		t.Fatalf("AppendEntries = %d, %v", first, err)
	}
	if s := w.Stats(); s.Syncs >= 40 {
		t.Fatalf("a batch of 40 took %d fsyncs", s.Syncs)
	}
	for i := uint64(1); i <= 40; i++ {
		wantEntry(t, w, i, termByTen(i))
	}
	if _, err := w.AppendEntries(nil); err == nil {
		t.Fatal("empty batch accepted")
	}
}

// damage applies f to the bytes of path.
func damage(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileWALCutsTornTail(t *testing.T) {
	dir := closedWAL(t, smallSegments, 50)
	segs := segmentFiles(t, dir)
	last := segs[len(segs)-1]
	fi, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the final record in half, as a crash mid-write would.
	lastLen := int64(recordHeaderLen + 10 + 50%50)
	cutAt := fi.Size() - lastLen/2
	if err := os.Truncate(last, cutAt); err != nil {
		t.Fatal(err)
	}

	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	wantState(t, w2, State{FirstIndex: 1, LastIndex: 49, FirstTerm: 1, LastTerm: 5, Entries: 49, Bytes: bytesOf(1, 49)})
	rec := w2.Recovery()
	if rec.Segment != last || rec.Offset != fi.Size()-lastLen || rec.TornSize != cutAt-rec.Offset {
		t.Fatalf("recovery = %+v, want cut of %s at %d", rec, last, fi.Size()-lastLen)
	}
	if fi2, err := os.Stat(last); err != nil || fi2.Size() != rec.Offset {
		t.Fatalf("segment after recovery: %v, %v; want %d bytes", fi2, err, rec.Offset)
	}
	// The log continues where the good records end.
	appendN(t, w2, 3, termByTen)
	wantEntry(t, w2, 50, termByTen(50))
}

func TestFileWALCutsBadFinalRecord(t *testing.T) {
	dir := closedWAL(t, smallSegments, 50)
	segs := segmentFiles(t, dir)
	// A bit flipped in the final record's payload cannot be told from a
	// torn write: the record is cut, not reported.
	damage(t, segs[len(segs)-1], func(b []byte) []byte { b[len(b)-3] ^= 0x10; return b })
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	if got := w2.State().LastIndex; got != 49 {
		t.Fatalf("last index %d after cutting the bad final record, want 49", got)
	}
	if !strings.Contains(w2.Recovery().Reason, "checksum") {
		t.Fatalf("recovery reason %q does not name the checksum", w2.Recovery().Reason)
	}
}

// TestFileWALKeepsZerosAfterTheLastRecord: zeros after the last record of
// the last segment are the room preallocate lays down (or a crashed
// append that never reached the disk); recovery keeps them, reports
// nothing, and appends write over them.
func TestFileWALKeepsZerosAfterTheLastRecord(t *testing.T) {
	dir := closedWAL(t, 1<<20, 10)
	segs := segmentFiles(t, dir)
	records := fileSize(t, segs[0])
	damage(t, segs[0], func(b []byte) []byte { return append(b, make([]byte, 100)...) })
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: 1 << 20})
	wantState(t, w2, State{FirstIndex: 1, LastIndex: 10, FirstTerm: 1, LastTerm: 2, Entries: 10, Bytes: bytesOf(1, 10)})
	if rec := w2.Recovery(); rec != (Recovery{}) {
		t.Fatalf("recovery %+v, want nothing cut from a zero tail", rec)
	}
	if got := fileSize(t, segs[0]); got != records+100 {
		t.Fatalf("segment holds %d bytes after open, want the %d of records and 100 zeros", got, records)
	}
	appendN(t, w2, 5, termByTen)
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	w3 := openTestWAL(t, dir, WALOptions{SegmentSize: 1 << 20})
	for i := uint64(1); i <= 15; i++ {
		wantEntry(t, w3, i, termByTen(i))
	}
}

// TestFileWALZerosBeforeTheLastSegmentAreCorruption: only the active
// segment has room; a sealed one was cut to its records and fsynced
// before the next one began, so zeros after its records are damage.
func TestFileWALZerosBeforeTheLastSegmentAreCorruption(t *testing.T) {
	dir := closedWAL(t, smallSegments, 50)
	segs := segmentFiles(t, dir)
	damage(t, segs[0], func(b []byte) []byte { return append(b, make([]byte, 100)...) })
	if _, err := OpenFileWAL(dir, WALOptions{SegmentSize: smallSegments}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), segs[0]) {
		t.Fatalf("open: %v, want ErrCorrupt naming %s", err, segs[0])
	}
}

// TestFileWALZeroedRecordBeforeOthersIsCorruption: a record turned to
// zeros with good records after it was not a crashed append.
func TestFileWALZeroedRecordBeforeOthersIsCorruption(t *testing.T) {
	dir := closedWAL(t, 1<<20, 10)
	segs := segmentFiles(t, dir)
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	scan, err := scanSegment(segs[0], b, 1)
	if err != nil {
		t.Fatal(err)
	}
	from, to := scan.recs[4].off, scan.recs[5].off
	damage(t, segs[0], func(b []byte) []byte { clear(b[from:to]); return b })
	_, err = OpenFileWAL(dir, WALOptions{SegmentSize: 1 << 20})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "offset "+strconv.FormatInt(from, 10)) {
		t.Fatalf("open: %v, want ErrCorrupt at offset %d", err, from)
	}
}

// TestFileWALPreallocatesTheActiveSegmentOnly: while the WAL is open the
// active segment runs ahead of its records with zeros, up to the segment
// size; sealed segments and a closed WAL's files hold their records only.
func TestFileWALPreallocatesTheActiveSegmentOnly(t *testing.T) {
	dir := t.TempDir()
	const segSize = 2 * preallocChunk
	w := openTestWAL(t, dir, WALOptions{SegmentSize: segSize})
	// Each Append is an fsync of this many bytes: small enough for zeros.
	big := make([]byte, 32<<10)
	if _, err := w.Append(1, big); err != nil {
		t.Fatal(err)
	}
	if got, want := fileSize(t, w.segs[0].path), w.segs[0].size+preallocChunk; got != want {
		t.Fatalf("first segment holds %d bytes after one append, want %d: its record and a chunk of zeros", got, want)
	}
	for len(w.segs) < 2 {
		if _, err := w.Append(1, big); err != nil {
			t.Fatal(err)
		}
	}
	segs := segmentFiles(t, dir)
	for _, seg := range w.segs[:len(w.segs)-1] {
		if got := fileSize(t, seg.path); got != seg.size {
			t.Fatalf("sealed %s holds %d bytes, want its %d of records", seg.path, got, seg.size)
		}
	}
	active := w.segs[len(w.segs)-1]
	if got := fileSize(t, active.path); got < active.size+preallocChunk/2 || got > segSize {
		t.Fatalf("active segment holds %d bytes for %d of records, want at least half a chunk of room and at most %d", got, active.size, segSize)
	}
	want := w.State()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	last := segs[len(segs)-1]
	if got := fileSize(t, last); got != active.size {
		t.Fatalf("closed WAL's last segment holds %d bytes, want its %d of records", got, active.size)
	}
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: segSize})
	wantState(t, w2, want)
}

// TestFileWALGrowsTheFileUnderLargeFsyncs: once fsyncs carry more than
// zerosUpTo on average, the active segment gets no more zeros and its
// records grow the file; when they get small again, the zeros come back.
// Either way the log reopens whole.
func TestFileWALGrowsTheFileUnderLargeFsyncs(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{SegmentSize: 4 * preallocChunk})
	active := func() *segment { return w.segs[len(w.segs)-1] }
	large := make([]byte, 128<<10)
	// The first chunk of zeros goes down before any fsync was seen; the
	// records then use it up and go on past it.
	for len(w.segs) == 0 || active().size < preallocChunk+preallocChunk/2 {
		if _, err := w.Append(1, large); err != nil {
			t.Fatal(err)
		}
	}
	if w.room.meanFsync <= zerosUpTo {
		t.Fatalf("mean fsync %d bytes after %d-byte appends, want more than %d", w.room.meanFsync, len(large), zerosUpTo)
	}
	if got, want := fileSize(t, active().path), active().size; got != want {
		t.Fatalf("segment holds %d bytes under large fsyncs, want its %d of records and no zeros", got, want)
	}
	small := make([]byte, 1<<10)
	for range 16 {
		if _, err := w.Append(1, small); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, active().path); got < active().size+preallocChunk/2 {
		t.Fatalf("segment holds %d bytes for %d of records after small fsyncs, want at least half a chunk of zeros ahead", got, active().size)
	}
	want := w.State()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: 4 * preallocChunk})
	wantState(t, w2, want)
	if rec := w2.Recovery(); rec != (Recovery{}) {
		t.Fatalf("recovery %+v, want nothing cut", rec)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestFileWALReportsCorruptionInTheMiddle(t *testing.T) {
	for _, where := range []string{"earlier segment", "last segment"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			w := openTestWAL(t, dir, WALOptions{SegmentSize: 1000})
			appendN(t, w, 100, termByTen)
			// The damaged record must have records after it in its file.
			for len(w.segs[len(w.segs)-1].recs) < 3 {
				appendN(t, w, 1, termByTen)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			segs := segmentFiles(t, dir)
			victim := segs[0]
			if where == "last segment" {
				victim = segs[len(segs)-1]
			}
			off := flipInSecondRecord(t, victim)
			_, err := OpenFileWAL(dir, WALOptions{SegmentSize: 1000})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: err %v, want ErrCorrupt", err)
			}
			if msg := err.Error(); !strings.Contains(msg, victim) || !strings.Contains(msg, "offset "+strconv.FormatInt(off, 10)) {
				t.Fatalf("error %q does not name %s and offset %d", msg, victim, off)
			}
		})
	}
}

// flipInSecondRecord flips a payload byte of the second record of a
// segment and returns that record's offset.
func flipInSecondRecord(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	scan, err := scanSegment(path, b, firstOfSegment(t, path))
	if err != nil || len(scan.recs) < 3 {
		t.Fatalf("segment %s: %d records, %v; need 3", path, len(scan.recs), err)
	}
	off := scan.recs[1].off
	damage(t, path, func(b []byte) []byte { b[off+recordHeaderLen+2] ^= 0x01; return b })
	return off
}

func firstOfSegment(t *testing.T, path string) uint64 {
	t.Helper()
	first, ok := parseSegmentName(filepath.Base(path))
	if !ok {
		t.Fatalf("%s is not a segment name", path)
	}
	return first
}

func TestFileWALLoadDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{SegmentSize: 1000, CacheEntries: -1})
	appendN(t, w, 100, termByTen)
	victim := segmentFiles(t, dir)[0]
	off := flipInSecondRecord(t, victim)
	index := firstOfSegment(t, victim) + 1
	_, data, err := w.Load(index)
	if !errors.Is(err, ErrCorrupt) || data != nil {
		t.Fatalf("load of damaged record: data %q, err %v; want ErrCorrupt", data, err)
	}
	if msg := err.Error(); !strings.Contains(msg, victim) || !strings.Contains(msg, "offset "+strconv.FormatInt(off, 10)) {
		t.Fatalf("error %q does not name %s and offset %d", msg, victim, off)
	}
	wantEntry(t, w, index+1, termByTen(index+1))
}

func TestFileWALMissingMetaIsCorruption(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{})
	appendN(t, w, 3, termByTen)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, metaFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileWAL(dir, WALOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open without meta file: %v, want ErrCorrupt", err)
	}
}

func TestFileWALGapBetweenSegmentsIsCorruption(t *testing.T) {
	dir := closedWAL(t, smallSegments, 60)
	segs := segmentFiles(t, dir)
	if err := os.Remove(segs[1]); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFileWAL(dir, WALOptions{SegmentSize: smallSegments})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), segs[2]) {
		t.Fatalf("open with a missing middle segment: %v, want ErrCorrupt naming %s", err, segs[2])
	}
}
