package storage

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// TestCrashTogetherLosesPowerEverywhereAtOnce: every CrashFS loses its
// unsynced bytes and stays down until its own Restart, and no observer
// ever sees one machine down while another still runs.
func TestCrashTogetherLosesPowerEverywhereAtOnce(t *testing.T) {
	a, b := NewCrashFS(t.TempDir()), NewCrashFS(t.TempDir())
	for _, c := range []*CrashFS{a, b} {
		f := writeFile(t, c, "log", []byte("kept"), true)
		if err := c.SyncDir("."); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("-lost"), 4); err != nil {
			t.Fatal(err)
		}
	}

	// The observer checks b right after seeing a down: a crash of a alone
	// followed by one of b would let it see b still running.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mixed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := a.ReadDir("."); errors.Is(err, ErrCrashed) {
				if _, err := b.ReadDir("."); !errors.Is(err, ErrCrashed) {
					mixed.Add(1)
				}
				return
			}
		}
	}()
	if err := CrashTogether(a, b, a, nil); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if mixed.Load() != 0 {
		t.Fatal("an observer saw one machine down and the other running")
	}

	for name, c := range map[string]*CrashFS{"a": a, "b": b} {
		if _, err := c.OpenFile("other", os.O_CREATE|os.O_RDWR, 0o644); !errors.Is(err, ErrCrashed) {
			t.Fatalf("%s: OpenFile before Restart = %v, want ErrCrashed", name, err)
		}
		c.Restart()
		if got, _ := fileContent(t, c, "log"); string(got) != "kept" {
			t.Fatalf("%s: log holds %q after the crash, want the synced %q", name, got, "kept")
		}
	}
}
