package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestBadUsage: every malformed command line gets one line on stderr and
// exit 2, and starts nothing.
func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{},
		{"frobnicate"},
		{"serve", "-peers", "a,b", "-dir", dir},
		{"serve", "-name", "c", "-peers", "a,b", "-dir", dir},
		{"serve", "-name", "a", "-peers", "a,a", "-dir", dir},
		{"serve", "-name", "a", "-peers", "a,b", "-dir", dir, "extra"},
		{"serve", "-name", "a", "-peers", "a,b", "-dir", dir, "-embedded-nats", "nohostport"},
		{"serve", "-bogus"},
		{"get", "-peers", "a"},
		{"put", "-peers", "a", "k"},
		{"cas", "-peers", "a", "k", "old"},
		{"get", "k"},
		{"get", "-peers", "a", "-timeout", "0s", "k"},
		{"remove-peer", "-peers", "a"},
	}
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr.String())
			continue
		}
		if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n") + 1; lines != 1 {
			t.Errorf("%q: %d lines on stderr: %q", args, lines, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: wrote to stdout: %q", args, stdout.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command wrote %d entries into -dir", len(entries))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for a command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestThreeReplicasOverEmbeddedNATS runs what the README shows: three
// serve commands, the first with the embedded NATS server, then put, get
// and cas as a client would, and a clean stop.
func TestThreeReplicasOverEmbeddedNATS(t *testing.T) {
	addr := freeAddr(t)
	url := "nats://" + addr
	base := t.TempDir()
	peers := "n1,n2,n3"
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	outs := make([]*syncBuffer, 3)
	codes := make([]int, 3)
	serve := func(i int, extra ...string) {
		outs[i] = &syncBuffer{}
		args := append([]string{"serve", "-name", fmt.Sprintf("n%d", i+1), "-peers", peers,
			"-dir", filepath.Join(base, fmt.Sprintf("n%d", i+1)), "-election-timeout", "300ms", "-nats", url}, extra...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = run(ctx, args, outs[i], outs[i])
		}()
	}
	serve(0, "-embedded-nats", addr)
	waitFor(t, func() bool { return strings.Contains(outs[0].String(), "serving group") })
	serve(1)
	serve(2)
	defer func() {
		stop()
		wg.Wait()
		for i, code := range codes {
			if code != 0 {
				t.Errorf("serve n%d exited %d: %s", i+1, code, outs[i].String())
			}
		}
	}()

	client := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		full := append([]string{args[0], "-peers", peers, "-nats", url, "-timeout", "30s"}, args[1:]...)
		code := run(context.Background(), full, &out, &errOut)
		return strings.TrimSpace(out.String() + errOut.String()), code
	}
	if out, code := client("put", "greeting", "hello"); code != 0 || out != "ok" {
		t.Fatalf("put: %d %q", code, out)
	}
	if out, code := client("get", "greeting"); code != 0 || out != "hello" {
		t.Fatalf("get: %d %q", code, out)
	}
	if out, code := client("cas", "greeting", "nope", "bye"); code != 1 || !strings.Contains(out, "does not hold") {
		t.Fatalf("failed cas: %d %q", code, out)
	}
	if out, code := client("cas", "greeting", "hello", "bye"); code != 0 || out != "ok" {
		t.Fatalf("cas: %d %q", code, out)
	}
	if out, code := client("get", "missing"); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("get missing: %d %q", code, out)
	}
	if out, code := client("status"); code != 0 || strings.Count(out, `"digest"`) != 3 {
		t.Fatalf("status: %d %q", code, out)
	}
	// Replacing a replica starts by removing it; the other two go on.
	if out, code := client("remove-peer", "n3"); code != 0 || out != "ok" {
		t.Fatalf("remove-peer: %d %q", code, out)
	}
	if out, code := client("put", "after", "removal"); code != 0 || out != "ok" {
		t.Fatalf("put after removal: %d %q", code, out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
