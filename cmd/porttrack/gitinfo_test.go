package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/textout"
)

func TestGitFactsIgnoreOnlyTheDatabase(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if facts, err := readGitFacts(ctx, root, filepath.Join(root, "porting.db")); err != nil || facts.Commit != "" || facts.clean() {
		t.Fatalf("outside git: %+v, %v; want no commit and not clean", facts, err)
	}
	write := func(rel, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", "package a\n")
	write("porting.db", "v1")
	write("data/track.db", "v1")
	git(t, root, "init", "-q")
	commitAll(t, root, "start")

	dbPath := filepath.Join(root, "data", "track.db")
	facts, err := readGitFacts(ctx, root, dbPath)
	if err != nil || len(facts.Commit) != 40 || !facts.clean() {
		t.Fatalf("fresh commit: %+v, %v", facts, err)
	}
	write("porting.db", "v2")
	write("porting.db-wal", "log")
	write("data/track.db", "v2")
	write("data/track.db-shm", "shm")
	if facts, err = readGitFacts(ctx, root, dbPath); err != nil || !facts.clean() {
		t.Fatalf("only database files changed: %+v, %v; want clean", facts, err)
	}
	git(t, root, "mv", "a.go", "b.go")
	write("new dir/c.go", "package c\n")
	facts, err = readGitFacts(ctx, root, dbPath)
	if err != nil || facts.clean() || !slices.Equal(facts.Dirty, []string{"b.go", "new dir/c.go"}) {
		t.Fatalf("rename and untracked file: %+v, %v", facts, err)
	}
}

func TestProgressPlainAndLive(t *testing.T) {
	var plain bytes.Buffer
	p := newProgress(&plain)
	p.Write([]byte("gate build: running\nbuild: go bu"))
	p.Write([]byte("ild ./...\n"))
	p.done()
	if plain.String() != "gate build: running\nbuild: go build ./...\n" {
		t.Fatalf("plain progress = %q", plain.String())
	}

	var live bytes.Buffer
	lp := newProgress(&live)
	lp.live = true
	lp.Write([]byte("gate test: running\ngate coverage: running\n"))
	lp.done()
	got := live.String()
	if strings.Count(got, "\r\x1b[K[") != 2 || strings.Contains(got, "\n") || !strings.HasSuffix(got, "gate coverage: running\r\x1b[K") {
		t.Fatalf("live progress = %q, want one rewritten status line, cleared at the end", got)
	}

	// A status line longer than the terminal would wrap and break the
	// rewrite: it is cut to fit, and its control characters escaped.
	var narrow bytes.Buffer
	np := newProgress(textout.NewWriter(&narrow, textout.Settings{Width: 30, Terminal: true}, nil))
	np.Write([]byte("coverage: go test -count=1 -coverpkg=./raftport ./raftport_test \x1b[2J\n"))
	status := strings.TrimPrefix(narrow.String(), "\r\x1b[K")
	if !np.live || textout.Width(status) > 29 || !strings.HasSuffix(status, "…") || strings.Contains(status, "\x1b") {
		t.Fatalf("narrow live progress = %q, want one status line under 30 columns", narrow.String())
	}
}
