package storage

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// gateFS, once armed, holds the first file fsync until the test opens the
// gate, so the other appenders are certain to arrive while an fsync is in
// flight. It is armed after the WAL is open because opening fsyncs too.
type gateFS struct {
	FS
	armed atomic.Bool
	gate  chan struct{}
	first sync.Once
}

type gateFile struct {
	File
	fs *gateFS
}

func (g *gateFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err == nil {
		return gateFile{File: f, fs: g}, nil
	}
	return nil, err
}

func (f gateFile) Sync() error {
	if f.fs.armed.Load() {
		f.fs.first.Do(func() { <-f.fs.gate })
	}
	return f.File.Sync()
}

const (
	appenders    = 8
	perAppender  = 200
	totalAppends = appenders * perAppender
)

// runAppenders appends perAppender entries from each of appenders
// goroutines and returns what each index was given.
func runAppenders(w *FileWAL) (map[uint64][]byte, error) {
	var mu sync.Mutex
	got := map[uint64][]byte{}
	errs := make(chan error, appenders)
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perAppender {
				data := []byte(fmt.Sprintf("appender %d entry %d", g, n))
				index, err := w.Append(uint64(g), data)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := got[index]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("index %d given to %q and %q", index, prev, data)
					return
				}
				got[index] = data
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return got, <-errs
}

func checkDenseAndLoadable(t *testing.T, w *FileWAL, got map[uint64][]byte) {
	t.Helper()
	indexes := make([]uint64, 0, len(got))
	for i := range got {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	if len(indexes) != totalAppends || indexes[0] != 1 || indexes[len(indexes)-1] != totalAppends {
		t.Fatalf("%d indexes from %d to %d, want 1..%d", len(indexes), indexes[0], indexes[len(indexes)-1], totalAppends)
	}
	for _, i := range indexes {
		_, data, err := w.Load(i)
		if err != nil || !bytes.Equal(data, got[i]) {
			t.Fatalf("load %d: %q, %v; want %q", i, data, err, got[i])
		}
	}
}

func TestGroupCommitSharesFsyncs(t *testing.T) {
	g := &gateFS{FS: OSFS{}, gate: make(chan struct{})}
	dir := t.TempDir()
	w := openTestWAL(t, dir, WALOptions{FS: g, SegmentSize: 16 << 10, CacheEntries: -1})
	g.armed.Store(true)
	openGate := sync.OnceFunc(func() { close(g.gate) })
	// On failure the held fsync must still end, or Close would wait for it.
	t.Cleanup(openGate)
	var got map[uint64][]byte
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, err = runAppenders(w)
	}()
	// Every appender has written its first entry while the first fsync
	// is held, so they share the next one.
	waitFor(t, func() bool { return w.Stats().Appends >= appenders })
	openGate()
	<-done
	if err != nil {
		t.Fatal(err)
	}

	checkDenseAndLoadable(t, w, got)
	stats := w.Stats()
	if stats.Appends != totalAppends || stats.Syncs >= stats.Appends {
		t.Fatalf("stats %+v: want %d appends and fewer fsyncs", stats, totalAppends)
	}
	t.Logf("%d appends, %d fsyncs (%.1f appends per fsync)", stats.Appends, stats.Syncs, float64(stats.Appends)/float64(stats.Syncs))

	// Everything acknowledged is there after a reopen too.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openTestWAL(t, dir, WALOptions{SegmentSize: 16 << 10})
	checkDenseAndLoadable(t, w2, got)
}

// TestGroupCommitOnRealDisk reports how much batching real fsyncs give
// without any help from the test.
func TestGroupCommitOnRealDisk(t *testing.T) {
	w := openTestWAL(t, t.TempDir(), WALOptions{SegmentSize: 16 << 10})
	got, err := runAppenders(w)
	if err != nil {
		t.Fatal(err)
	}
	checkDenseAndLoadable(t, w, got)
	stats := w.Stats()
	if stats.Syncs > stats.Appends+uint64(len(w.segs)) {
		t.Fatalf("stats %+v: more fsyncs than appends plus segment seals", stats)
	}
	t.Logf("%d appends, %d fsyncs (%.1f appends per fsync)", stats.Appends, stats.Syncs, float64(stats.Appends)/float64(stats.Syncs))
}
