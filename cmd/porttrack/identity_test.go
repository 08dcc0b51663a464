package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultActor(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("PORTTRACK_ACTOR", "")
	t.Setenv("USER", "login-name")
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	t.Chdir(repo)
	if got := defaultActor(); got != "login-name" {
		t.Fatalf("actor without a git user = %q, want $USER", got)
	}
	if out, err := runGit(repo, "config", "user.name", "Ada Lovelace"); err != nil {
		t.Fatalf("git config: %v\n%s", err, out)
	}
	if got := defaultActor(); got != "Ada Lovelace" {
		t.Fatalf("actor = %q, want the git user", got)
	}
	t.Setenv("PORTTRACK_ACTOR", "verify gate")
	if got := defaultActor(); got != "verify gate" {
		t.Fatalf("actor = %q, want PORTTRACK_ACTOR", got)
	}
}

func runGit(dir string, args ...string) ([]byte, error) {
	return exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
}

// Without --db, porttrack finds the nearest porting.db above the working
// directory, so it works from any directory of a repository.
func TestDatabaseFoundFromSubdirectory(t *testing.T) {
	te := newTinyEnv(t)
	sub := filepath.Join(te.Root, "raftport", "storage")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	var out, errOut bytes.Buffer
	if code := execute(context.Background(), []string{"batch", "show", "1"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	mustContain(t, out.String(), "One")
	if got := nearestDB(); got != filepath.Join("..", "..", "porting.db") {
		t.Fatalf("nearestDB = %q", got)
	}
	t.Chdir(t.TempDir())
	out.Reset()
	errOut.Reset()
	if code := execute(context.Background(), []string{"batch", "list"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "database porting.db does not exist") {
		t.Fatalf("outside any repository: exit %d, %s", code, errOut.String())
	}
}

// Feature and test IDs are separate number spaces: each command that takes
// an ID says which kind it showed.
func TestCommandsNameTheKindOfAnID(t *testing.T) {
	te := newTinyEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"feature", "show", "10"}, "feature 10: (RaftState).String"},
		{[]string{"test", "show", "10"}, "test 10: TestNRGSimple"},
		{[]string{"feature", "deps", "11"}, "feature 11: (*raft).vote"},
		{[]string{"history", "11"}, "feature 11: (*raft).vote"},
		{[]string{"history", "20", "--test"}, "test 20: TestNRGVote"},
		{[]string{"test", "batch-update", "--ids", "10", "--set-status", "stub"}, "would change 1 tests"},
		{[]string{"next"}, "│ feature │ 10 "},
	} {
		code, stdout, stderr := runCLI(t, te, tc.args...)
		if code != exitOK || !strings.Contains(stdout, tc.want) {
			t.Errorf("porttrack %s: exit %d, output lacks %q:\n%s%s", strings.Join(tc.args, " "), code, tc.want, stdout, stderr)
		}
	}
	code, _, stderr := runCLI(t, te, "history", "10")
	if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "10 is both feature 10 (RaftState).String and test 10 TestNRGSimple; say --feature or --test") {
		t.Fatalf("history of an ID that is both: exit %d, %q", code, stderr)
	}
}
