package storage

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// closedWAL appends n entries in segments of segSize to a fresh directory
// and closes the WAL, for tests that then edit the files.
func closedWAL(t *testing.T, segSize int64, n int) string {
	t.Helper()
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{SegmentSize: segSize})
	appendN(t, w, n, termByTen)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRecoveryFinishesInterruptedCompact(t *testing.T) {
	dir := closedWAL(t, smallSegments, 60)
	before := len(segmentFiles(t, dir))
	// The state a crash leaves after Compact(45) wrote the meta file but
	// before it deleted any segment.
	meta := binary.LittleEndian.AppendUint64(metaMagic[:], 45)
	if err := WriteFileAtomic(OSFS{}, filepath.Join(dir, metaFile), meta); err != nil {
		t.Fatal(err)
	}
	w := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	wantState(t, w, State{FirstIndex: 45, LastIndex: 60, FirstTerm: 5, LastTerm: 7, Entries: 16, Bytes: bytesOf(45, 60)})
	wantNotFound(t, w, 44)
	wantEntry(t, w, 45, termByTen(45))
	if after := len(segmentFiles(t, dir)); after >= before {
		t.Fatalf("%d segments before, %d after: wholly compacted ones were kept", before, after)
	}
}

func TestRecoveryFinishesCompactPastTheEnd(t *testing.T) {
	dir := closedWAL(t, smallSegments, 20)
	meta := binary.LittleEndian.AppendUint64(metaMagic[:], 500)
	if err := WriteFileAtomic(OSFS{}, filepath.Join(dir, metaFile), meta); err != nil {
		t.Fatal(err)
	}
	w := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	wantState(t, w, State{FirstIndex: 500, LastIndex: 499})
	if n := len(segmentFiles(t, dir)); n != 0 {
		t.Fatalf("%d segments left below the first index", n)
	}
	appendN(t, w, 1, termByTen)
	wantEntry(t, w, 500, termByTen(500))
}

func TestRecoveryDropsEmptyLastSegment(t *testing.T) {
	dir := closedWAL(t, smallSegments, 30)
	// A crash right after a segment was created, before its first record.
	empty := filepath.Join(dir, segmentName(31))
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := openTestWAL(t, dir, WALOptions{SegmentSize: smallSegments})
	if got := w.State().LastIndex; got != 30 {
		t.Fatalf("last index %d, want 30", got)
	}
	appendN(t, w, 1, termByTen)
	wantEntry(t, w, 31, termByTen(31))
}

func TestRecoveryTornEarlierSegmentIsCorruption(t *testing.T) {
	dir := closedWAL(t, smallSegments, 60)
	first := segmentFiles(t, dir)[0]
	fi, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(first, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFileWAL(dir, WALOptions{SegmentSize: smallSegments})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), first) {
		t.Fatalf("open with a torn sealed segment: %v, want ErrCorrupt naming %s", err, first)
	}
}

func TestRecoveryWrongIndexIsCorruptionEvenAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{})
	appendN(t, w, 5, termByTen)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seg := segmentFiles(t, dir)[0]
	// A whole, well-checksummed record that claims the wrong index was not
	// torn by a crash: something wrote it there.
	damage(t, seg, func(b []byte) []byte { return appendRecord(b, 9, 1, []byte("stray")) })
	if _, err := OpenFileWAL(dir, WALOptions{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "index 9") {
		t.Fatalf("open: %v, want ErrCorrupt about index 9", err)
	}
}

func TestRecoveryBadMetaIsCorruption(t *testing.T) {
	dir := closedWAL(t, smallSegments, 5)
	damage(t, filepath.Join(dir, metaFile), func(b []byte) []byte { b[9] ^= 1; return b })
	if _, err := OpenFileWAL(dir, WALOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with damaged meta file: %v, want ErrCorrupt", err)
	}
}

func TestSyncEveryFlushesInTheBackground(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	opts := WALOptions{FS: cfs, Sync: SyncEvery(2 * time.Millisecond)}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 10, termByTen)
	// No explicit Sync: only the loop can make all ten durable.
	waitFor(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.syncedSeq == w.writeSeq
	})
	crash(t, cfs)
	// The background loop may have failed on the dead handles meanwhile.
	if err := w.Close(); err != nil && !errors.Is(err, ErrCrashed) {
		t.Fatal(err)
	}
	w2 := openTestWAL(t, "wal", opts)
	if got := w2.State().LastIndex; got != 10 {
		t.Fatalf("after the background sync and a crash: last index %d, want 10", got)
	}
}

func TestWALRefusesWorkAfterFailure(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	w, err := OpenFileWAL("wal", WALOptions{FS: cfs})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 3, termByTen)
	crash(t, cfs)
	if _, err := w.Append(1, []byte("after")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("append after crash: %v, want ErrCrashed", err)
	}
	// Poisoned: even calls that need no I/O report the failure.
	if err := w.Compact(2); !errors.Is(err, ErrCrashed) {
		t.Fatalf("compact after failure: %v, want the failure", err)
	}
	if err := w.Close(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("close after failure: %v, want the failure", err)
	}
}
