package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func writeFile(t *testing.T, cfs *CrashFS, name string, data []byte, sync bool) File {
	t.Helper()
	f, err := cfs.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// crash is a power loss and reboot with nothing running meanwhile.
func crash(t *testing.T, cfs *CrashFS) {
	t.Helper()
	if err := cfs.Crash(); err != nil {
		t.Fatalf("crash: %v", err)
	}
	cfs.Restart()
}

func fileContent(t *testing.T, cfs *CrashFS, name string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfs.Root(), name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func TestCrashFSDropsUnsyncedSuffix(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	f := writeFile(t, cfs, "log", []byte("durable"), true)
	if err := cfs.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("-lost"), 7); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	if got, ok := fileContent(t, cfs, "log"); !ok || string(got) != "durable" {
		t.Fatalf("after crash: %q (exists %v), want %q", got, ok, "durable")
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, ErrCrashed) {
		t.Fatalf("write on a handle from before the crash: %v, want ErrCrashed", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("closing a dead handle: %v", err)
	}
}

func TestCrashFSUndoesUnsyncedOverwriteAndTruncate(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	f := writeFile(t, cfs, "log", []byte("0123456789"), true)
	if err := cfs.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("AB"), 2); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(6); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	if got, _ := fileContent(t, cfs, "log"); string(got) != "0123456789" {
		t.Fatalf("after crash: %q, want the synced content", got)
	}
	// Synced truncation and overwrite stick.
	f2, err := cfs.OpenFile("log", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if _, err := f2.WriteAt([]byte("AB"), 2); err != nil {
		t.Fatal(err)
	}
	if err := f2.Truncate(6); err != nil {
		t.Fatal(err)
	}
	if err := f2.Sync(); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	if got, _ := fileContent(t, cfs, "log"); string(got) != "01AB45" {
		t.Fatalf("after synced change and crash: %q, want %q", got, "01AB45")
	}
}

func TestCrashFSDirectoryEntries(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	writeFile(t, cfs, "kept", []byte("k"), true)
	writeFile(t, cfs, "gone", []byte("g"), true)
	if err := cfs.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	// Unsynced directory changes: a new file, a rename, a removal.
	writeFile(t, cfs, "new", []byte("n"), true)
	if err := cfs.Rename("kept", "renamed"); err != nil {
		t.Fatal(err)
	}
	if err := cfs.Remove("gone"); err != nil {
		t.Fatal(err)
	}
	if err := cfs.MkdirAll("sub/deeper", 0o755); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	names, err := cfs.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"gone", "kept"}) {
		t.Fatalf("after crash the directory holds %v, want [gone kept]", names)
	}

	if err := cfs.Rename("kept", "renamed"); err != nil {
		t.Fatal(err)
	}
	if err := cfs.MkdirAll("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfs, "sub/inner", []byte("i"), true)
	if err := cfs.SyncDir("sub"); err != nil {
		t.Fatal(err)
	}
	if err := cfs.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	names, err = cfs.ReadDir(".")
	if err != nil || !slices.Equal(names, []string{"gone", "renamed", "sub"}) {
		t.Fatalf("after synced changes: %v", names)
	}
	if got, _ := fileContent(t, cfs, "sub/inner"); string(got) != "i" {
		t.Fatalf("sub/inner = %q", got)
	}
}

func TestCrashFSFileInUnsyncedDirectoryIsLost(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	if err := cfs.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfs, "d/f", []byte("data"), true)
	if err := cfs.SyncDir("d"); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	if _, ok := fileContent(t, cfs, "d/f"); ok {
		t.Fatal("file survived although its directory's own entry was never synced")
	}
}

func TestCrashFSRejectsPathsOutsideRoot(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	if _, err := cfs.OpenFile("../escape", os.O_CREATE|os.O_RDWR, 0o644); err == nil {
		t.Fatal("opened a file outside the root")
	}
	if _, err := cfs.OpenFile(filepath.Join(t.TempDir(), "x"), os.O_CREATE|os.O_RDWR, 0o644); err == nil {
		t.Fatal("opened an absolute path outside the root")
	}
}

func TestCrashFSSyncEveryLosesExactlyTheUnsyncedSuffix(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	// An interval that never fires during the test and one segment (sealing
	// a segment fsyncs it): the explicit Sync is the only one.
	opts := WALOptions{FS: cfs, Sync: SyncEvery(time.Hour)}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 40, termByTen)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 25, termByTen)
	if got := w.State().LastIndex; got != 65 {
		t.Fatalf("last index before crash %d", got)
	}
	crash(t, cfs)
	if err := w.Close(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("close of the crashed WAL: %v, want ErrCrashed", err)
	}

	w2 := openTestWAL(t, "wal", opts)
	wantState(t, w2, State{FirstIndex: 1, LastIndex: 40, FirstTerm: 1, LastTerm: 5, Entries: 40, Bytes: bytesOf(1, 40)})
	for i := uint64(1); i <= 40; i++ {
		wantEntry(t, w2, i, termByTen(i))
	}
	if r := w2.Recovery(); r != (Recovery{}) {
		t.Fatalf("dropping whole unsynced records needs no cut, got %+v", r)
	}
	appendN(t, w2, 2, termByTen)
	wantEntry(t, w2, 41, termByTen(41))
}

func TestCrashFSKeepsTruncateAndCompact(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	opts := WALOptions{FS: cfs, SegmentSize: smallSegments}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 80, termByTen)
	if err := w.Compact(30); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(70); err != nil {
		t.Fatal(err)
	}
	want := w.State()
	crash(t, cfs)
	// Everything was synced, so closing the dead handles has nothing to lose.
	if err := w.Close(); err != nil {
		t.Fatalf("close of the crashed, fully synced WAL: %v", err)
	}
	w2 := openTestWAL(t, "wal", opts)
	wantState(t, w2, want)
	wantEntry(t, w2, 30, termByTen(30))
	wantEntry(t, w2, 70, termByTen(70))
}

// TestCrashFSSyncAlwaysLosesNothingAcknowledged crashes while appenders
// are running: every index whose Append returned must come back intact.
func TestCrashFSSyncAlwaysLosesNothingAcknowledged(t *testing.T) {
	// Small records keep zeros ahead of the active segment; large ones
	// (fsyncs above zerosUpTo) make the records grow the file.
	for _, c := range []struct {
		name             string
		segSize, padding int
		acks             int
	}{
		{"small records", 2048, 0, 300},
		{"large records", 2 << 20, 100 << 10, 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			crashWhileAppending(t, c.segSize, c.padding, c.acks)
		})
	}
}

// crashWhileAppending crashes a CrashFS under four appenders once acks
// appends of at least padding bytes each were acknowledged, and checks
// that every acknowledged entry survived.
func crashWhileAppending(t *testing.T, segSize, padding, acks int) {
	cfs := NewCrashFS(t.TempDir())
	opts := WALOptions{FS: cfs, SegmentSize: int64(segSize)}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[uint64][]byte{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				data := fmt.Appendf(nil, "g%d-n%d", g, n)
				data = append(data, bytes.Repeat([]byte{byte(n) | 1}, padding)...)
				index, err := w.Append(uint64(g+1), data)
				if err != nil {
					return
				}
				mu.Lock()
				acked[index] = data
				mu.Unlock()
			}
		}()
	}
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	waitFor(t, func() bool { return ackedCount() >= acks })
	if padding > zerosUpTo {
		w.mu.Lock()
		mean := w.room.meanFsync
		w.mu.Unlock()
		if mean <= zerosUpTo {
			t.Fatalf("mean fsync %d bytes, want more than %d: the large records never grew the file", mean, zerosUpTo)
		}
	}
	// The machine stays down until the appenders have stopped: a WAL that
	// had sealed a segment just before the crash must not create the next
	// one after it, as a process without power would not.
	if err := cfs.Crash(); err != nil {
		t.Fatalf("crash: %v", err)
	}
	wg.Wait()
	if err := w.Close(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("close of the crashed WAL: %v, want ErrCrashed", err)
	}
	cfs.Restart()

	w2 := openTestWAL(t, "wal", opts)
	last := w2.State().LastIndex
	for index, data := range acked {
		if index > last {
			t.Fatalf("acknowledged index %d lost; log ends at %d", index, last)
		}
		_, got, err := w2.Load(index)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("acknowledged index %d: %q, %v; want %q", index, got, err, data)
		}
	}
	t.Logf("%d acknowledged before the crash, %d entries recovered", len(acked), last)
}

// waitFor polls cond for up to ten seconds; the bound only turns a hang
// into a failure.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCrashFSAdoptsFilesMadeBehindItsBack(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	dir := filepath.Join(cfs.Root(), "made", "elsewhere")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := cfs.OpenFile("made/elsewhere/f", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	crash(t, cfs)
	if got, ok := fileContent(t, cfs, "made/elsewhere/f"); !ok || string(got) != "old" {
		t.Fatalf("adopted file after crash: %q (exists %v), want its content at adoption", got, ok)
	}
}

func TestCrashFSKeepsWhatWasThereBefore(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "wal")
	w, err := OpenFileWAL(dir, WALOptions{SegmentSize: smallSegments})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 30, termByTen)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cfs := NewCrashFS(root)
	crash(t, cfs)
	w2 := openTestWAL(t, "wal", WALOptions{FS: cfs, SegmentSize: smallSegments})
	wantState(t, w2, State{FirstIndex: 1, LastIndex: 30, FirstTerm: 1, LastTerm: 4, Entries: 30, Bytes: bytesOf(1, 30)})
	wantEntry(t, w2, 17, termByTen(17))
}

// Between Crash and Restart the machine is down: every call fails.
func TestCrashFSIsDownUntilRestart(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	if err := cfs.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cfs.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	if err := cfs.Crash(); err != nil {
		t.Fatal(err)
	}
	if _, err := cfs.OpenFile("d/f", os.O_CREATE|os.O_RDWR, 0o644); !errors.Is(err, ErrCrashed) {
		t.Fatalf("OpenFile while down: %v, want ErrCrashed", err)
	}
	if _, err := cfs.ReadDir("d"); !errors.Is(err, ErrCrashed) {
		t.Fatalf("ReadDir while down: %v, want ErrCrashed", err)
	}
	for name, call := range map[string]func() error{
		"SyncDir":  func() error { return cfs.SyncDir("d") },
		"MkdirAll": func() error { return cfs.MkdirAll("e", 0o755) },
		"Remove":   func() error { return cfs.Remove("d") },
		"Rename":   func() error { return cfs.Rename("d", "e") },
	} {
		if err := call(); !errors.Is(err, ErrCrashed) {
			t.Fatalf("%s while down: %v, want ErrCrashed", name, err)
		}
	}
	cfs.Restart()
	f, err := cfs.OpenFile("d/f", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("OpenFile after Restart: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCrashFSDeferredWriteDurableOnlyAfterAwait: Write returns before its
// entry is durable, so a crash before Await loses it; once Await of a
// ticket returned, that entry and every one written before survive.
func TestCrashFSDeferredWriteDurableOnlyAfterAwait(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	opts := WALOptions{FS: cfs}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	write := func(from, to uint64) []Ticket {
		var tickets []Ticket
		for i := from; i <= to; i++ {
			index, ticket, err := w.Write(termByTen(i), payload(i, 10+int(i%50)))
			if err != nil || index != i {
				t.Fatalf("write %d: index %d, %v", i, index, err)
			}
			wantEntry(t, w, i, termByTen(i)) // readable before it is durable
			tickets = append(tickets, ticket)
		}
		return tickets
	}
	tickets := write(1, 20)
	if err := w.Await(tickets[19]); err != nil {
		t.Fatal(err)
	}
	syncs := w.Stats().Syncs
	// A ticket already met costs no fsync.
	if err := w.Await(tickets[4]); err != nil || w.Stats().Syncs != syncs {
		t.Fatalf("await of a met ticket: %v, fsyncs %d -> %d", err, syncs, w.Stats().Syncs)
	}
	unsynced := write(21, 30)
	crash(t, cfs)
	if err := w.Await(unsynced[9]); err == nil {
		t.Fatal("await after the crash reported the unsynced writes durable")
	}
	if err := w.Close(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("close of the crashed WAL: %v, want ErrCrashed", err)
	}
	w2 := openTestWAL(t, "wal", opts)
	if got := w2.State().LastIndex; got != 20 {
		t.Fatalf("recovered up to %d, want the 20 awaited and none of the 10 written after", got)
	}
	for i := uint64(1); i <= 20; i++ {
		wantEntry(t, w2, i, termByTen(i))
	}
}

// TestDeferredWriteUnderSyncEvery: the policy that gives up durability on
// Append gives it up on Await too, which returns at once.
func TestDeferredWriteUnderSyncEvery(t *testing.T) {
	w := openTestWAL(t, t.TempDir(), WALOptions{Sync: SyncEvery(time.Hour)})
	_, ticket, err := w.Write(1, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Await(ticket); err != nil || w.Stats().Syncs != 0 {
		t.Fatalf("await under SyncEvery: %v, %d fsyncs", err, w.Stats().Syncs)
	}
}

func TestDeferredWriteRefusesOversizedAndClosed(t *testing.T) {
	w := openTestWAL(t, t.TempDir(), WALOptions{})
	if _, _, err := w.Write(1, make([]byte, maxPayload+1)); err == nil {
		t.Fatal("an entry past the record limit was written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Write(1, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write on a closed WAL: %v, want ErrClosed", err)
	}
}

// TestCrashFSKeepsPreallocatedZerosAfterACrash: the zeros ahead of the
// active segment's records were fsynced with the first of them, so a power
// loss leaves them; the records written over them but not awaited revert
// to zeros, and recovery finds the acknowledged ones followed by room.
func TestCrashFSKeepsPreallocatedZerosAfterACrash(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	opts := WALOptions{FS: cfs}
	w, err := OpenFileWAL("wal", opts)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 10, termByTen)
	for i := uint64(11); i <= 15; i++ {
		if _, _, err := w.Write(termByTen(i), payload(i, 10+int(i%50))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	for i := uint64(16); i <= 20; i++ {
		if _, _, err := w.Write(termByTen(i), payload(i, 10+int(i%50))); err != nil {
			t.Fatal(err)
		}
	}
	// Flushed to the file by a sync round that the crash beats.
	w.mu.Lock()
	err = w.flushLocked()
	w.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	seg := segmentName(1)
	crash(t, cfs)
	if err := w.Close(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("close of the crashed WAL: %v, want ErrCrashed", err)
	}
	b, ok := fileContent(t, cfs, filepath.Join("wal", seg))
	if !ok || len(b) < preallocChunk {
		t.Fatalf("segment after the crash: %d bytes (exists %v), want the preallocated room", len(b), ok)
	}
	w2 := openTestWAL(t, "wal", opts)
	if rec := w2.Recovery(); rec != (Recovery{}) {
		t.Fatalf("recovery %+v, want nothing cut from the zeros", rec)
	}
	wantState(t, w2, State{FirstIndex: 1, LastIndex: 15, FirstTerm: 1, LastTerm: 2, Entries: 15, Bytes: bytesOf(1, 15)})
	appendN(t, w2, 5, termByTen)
	for i := uint64(1); i <= 20; i++ {
		wantEntry(t, w2, i, termByTen(i))
	}
}

// TestDeferredWriteOwnedKeepsTheBufferWriteCopies: Write must copy what it
// caches, since its caller may reuse the buffer; WriteOwned keeps the
// caller's buffer, which saves a copy per entry on the node's hot path.
func TestDeferredWriteOwnedKeepsTheBufferWriteCopies(t *testing.T) {
	w := openTestWAL(t, t.TempDir(), WALOptions{})
	reused := []byte("first")
	if _, _, err := w.Write(1, reused); err != nil {
		t.Fatal(err)
	}
	copy(reused, "XXXXX")
	owned := []byte("second")
	_, ticket, err := w.WriteOwned(1, owned)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Await(ticket); err != nil {
		t.Fatal(err)
	}
	if _, data, err := w.Load(1); err != nil || string(data) != "first" {
		t.Fatalf("load 1: %q, %v; want what was written before the caller reused its buffer", data, err)
	}
	if _, data, err := w.Load(2); err != nil || string(data) != "second" {
		t.Fatalf("load 2: %q, %v", data, err)
	}
	w.mu.Lock()
	cached := w.cache[2].data
	w.mu.Unlock()
	if &cached[0] != &owned[0] {
		t.Fatal("WriteOwned cached a copy instead of the caller's buffer")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openTestWAL(t, w.Dir(), WALOptions{})
	if _, data, err := w2.Load(2); err != nil || string(data) != "second" {
		t.Fatalf("load 2 after reopen: %q, %v", data, err)
	}
}
