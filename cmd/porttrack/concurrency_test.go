package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// Eight separate porttrack processes update disjoint features of one
// database at once; every update must land and the main file alone must hold
// them all once the processes exit.
func TestConcurrentProcessesAllLand(t *testing.T) {
	te := newTestEnv(t)
	const writers = 8
	cmds := make([]*exec.Cmd, writers)
	outputs := make([]*syncBuffer, writers)
	for i := range cmds {
		first := 2599 + 2*i
		cmd := exec.Command(os.Args[0], "feature", "batch-update", "--ids", fmt.Sprintf("%d-%d", first, first+1),
			"--set-status", "stub", "--execute", "--db", te.DBPath)
		cmd.Env = append(os.Environ(), helperEnv+"=1", fmt.Sprintf("PORTTRACK_ACTOR=writer-%d", i))
		outputs[i] = &syncBuffer{}
		cmd.Stdout, cmd.Stderr = outputs[i], outputs[i]
		cmds[i] = cmd
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v\n%s", i, err, outputs[i].String())
		}
	}

	// Open a copy of the main file only: it must be whole without a -wal.
	copied := filepath.Join(t.TempDir(), "copy.db")
	copyFile(t, te.DBPath, copied)
	d, err := db.Open(context.Background(), copied)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stubs, err := d.Items(context.Background(), db.KindFeature, db.ItemFilter{Status: db.StatusStub})
	if err != nil {
		t.Fatal(err)
	}
	if len(stubs) != 2*writers {
		t.Fatalf("%d features are stub after %d concurrent writers of 2 each, want %d", len(stubs), writers, 2*writers)
	}
	for i := 0; i < writers; i++ {
		log, err := d.History(context.Background(), db.KindFeature, 2599+2*i)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[1].Actor != fmt.Sprintf("writer-%d", i) {
			t.Fatalf("history of feature %d = %+v, want import row then writer-%d", 2599+2*i, log, i)
		}
	}
}

// Eight goroutines of one process, each running commands that open their own
// database handle, update disjoint tests.
func TestConcurrentGoroutinesAllLand(t *testing.T) {
	te := newTestEnv(t)
	const writers = 8
	var batch30 []db.Item
	te.withDB(t, func(d *db.DB) {
		var err error
		if batch30, err = d.Items(context.Background(), db.KindTest, db.ItemFilter{BatchID: 30}); err != nil {
			t.Fatal(err)
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &env{Out: io.Discard, Err: io.Discard, DBPath: te.DBPath, Actor: fmt.Sprintf("goroutine-%d", i), Root: te.Root}
			errs[i] = runItemUpdate(context.Background(), e, &itemUpdateOptions{
				Kind: db.KindTest, IDs: fmt.Sprintf("%d,%d", batch30[2*i].ID, batch30[2*i+1].ID), Status: "n_a", Override: "concurrency check", Execute: true,
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	te.withDB(t, func(d *db.DB) {
		done, err := d.Items(context.Background(), db.KindTest, db.ItemFilter{Status: db.StatusNA})
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 2*writers {
			t.Fatalf("%d tests are n_a, want %d", len(done), 2*writers)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects a child process's output; exec copies into it from
// its own goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
