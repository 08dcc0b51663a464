package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// complete asks porttrack for completions as a shell does and returns the
// candidates and the directive.
func complete(t *testing.T, te *testEnv, args ...string) (candidates []string, directive string) {
	t.Helper()
	// The word being completed comes last, so --db goes first.
	var stdout, stderr bytes.Buffer
	t.Chdir(te.Root)
	code := execute(context.Background(), append([]string{cobra.ShellCompRequestCmd, "--db", te.DBPath}, args...), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("__complete %v: exit %d: %s", args, code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletionFromTheDatabase(t *testing.T) {
	te := newShippedEnv(t)
	cases := []struct {
		args        []string
		want        []string
		notWant     []string
		wantNoSpace bool
	}{
		{args: []string{"batch", "show", ""}, want: []string{"30\tRaft Part 1 (complete)", "31\tRaft Part 2 (complete)", "32\tJS Cluster Meta (pending)"}},
		{args: []string{"batch", "start", "3"}, want: []string{"30\t", "31\t", "32\t"}},
		{args: []string{"batch", "show", "31", ""}, notWant: []string{"30\t"}},
		{args: []string{"feature", "show", "275"}, want: []string{"2751\t(*raft).processAppendEntry (verified)"}, notWant: []string{"2626\t", "2733\t"}},
		{args: []string{"feature", "deps", "2751"}, want: []string{"2751\t"}},
		{args: []string{"test", "show", "262"}, want: []string{"2626\tTestNRGSwitchStateClearsQueues (verified)"}, notWant: []string{"2751\t"}},
		{args: []string{"history", "275"}, want: []string{"2751\tfeature (*raft).processAppendEntry (verified)"}},
		{args: []string{"history", "2626"}, want: []string{"2626\tfeature (*raft).AdjustBootClusterSize (verified); test TestNRGSwitchStateClearsQueues (verified)"}},
		{args: []string{"history", "--feature", "262"}, want: []string{"2626\t(*raft).AdjustBootClusterSize (verified)"}},
		{args: []string{"history", "--test", "262"}, want: []string{"2626\t"}},
		{args: []string{"history", "--batch", ""}, want: []string{"31\tRaft Part 2 (complete)"}},
		{args: []string{"feature", "list", "--status", ""}, want: []string{"deferred\t", "stub\t", "complete\t", "verified\t", "n_a\t"}},
		{args: []string{"feature", "batch-update", "--set-status", "v"}, want: []string{"verified\t"}},
		{args: []string{"feature", "list", "--batch", "31", "--slice", ""}, want: []string{"A\tbatch 31: Features, group A, 18 items", "B\t", "C\t"}, notWant: []string{"T1\t"}},
		{args: []string{"test", "list", "--slice", ""}, want: []string{"T1\tbatch 31: Tests, wave T1, 10 items", "T2\t"}, notWant: []string{"A\t"}},
		{args: []string{"verify", "--batch", "31", "--slice", ""}, want: []string{"A\t", "B\t", "C\t", "T1\t", "T2\t"}},
		{args: []string{"checkpoint", "--batch", ""}, want: []string{"31\t"}},
		{args: []string{"verify", "--kind", ""}, want: []string{"feature", "test"}},
		{args: []string{"report", "summary", "--format", ""}, want: []string{"text", "markdown", "json"}},
		{args: []string{"feature", "batch-update", "--ids", "2733,275"}, want: []string{"2733,2751\t(*raft).processAppendEntry (verified)"}, notWant: []string{"2751\t"}, wantNoSpace: true},
		{args: []string{"feature", "batch-update", "--batch", "31", "--ids", "2733-27"}, want: []string{"2733-2751\t"}, notWant: []string{"2733-2700\t"}, wantNoSpace: true},
	}
	for _, c := range cases {
		got, directive := complete(t, te, c.args...)
		joined := strings.Join(got, "\n") + "\n"
		for _, w := range c.want {
			if !strings.Contains("\n"+joined, "\n"+w) {
				t.Errorf("complete %q: no %q among\n%s", c.args, w, joined)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains("\n"+joined, "\n"+w) {
				t.Errorf("complete %q: unexpected %q among\n%s", c.args, w, joined)
			}
		}
		wantDirective := ":4" // no file completion
		if c.wantNoSpace {
			wantDirective = ":6" // and no space after the candidate
		}
		if directive != wantDirective {
			t.Errorf("complete %q: directive %s, want %s", c.args, directive, wantDirective)
		}
	}

	// Commands that take no file offer none.
	if got, directive := complete(t, te, "batch", "list", ""); len(got) != 0 || directive != ":4" {
		t.Errorf("complete batch list: %q %s, want nothing and no files", got, directive)
	}

	// Without a database there is nothing to offer, and nothing is created.
	te.DBPath = filepath.Join(te.Root, "missing.db")
	if got, _ := complete(t, te, "batch", "show", ""); len(got) != 0 {
		t.Errorf("completion without a database: %q", got)
	}
	if _, err := os.Stat(te.DBPath); !os.IsNotExist(err) {
		t.Error("completion created the missing database")
	}
}

func TestCompletionScripts(t *testing.T) {
	te := newTestEnv(t)
	for shell, want := range map[string]string{"bash": "__start_porttrack", "zsh": "#compdef porttrack", "fish": "complete -c porttrack"} {
		code, stdout, stderr := runCLI(t, te, "completion", shell)
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("completion %s: exit %d, %d bytes, lacks %q (%s)", shell, code, len(stdout), want, stderr)
		}
	}
}

// Every command's help has an example, and every example is a command
// line porttrack accepts: its command exists and its flags parse.
func TestEveryCommandHasAWorkingExample(t *testing.T) {
	root := newRootCmd(&env{Out: io.Discard, Err: io.Discard})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			args := exampleArgs(line)
			if args == nil {
				continue
			}
			fresh := newRootCmd(&env{Out: io.Discard, Err: io.Discard})
			found, rest, err := fresh.Find(args)
			if err != nil || (found == fresh && c != root) {
				t.Errorf("%q: example %q names no command (%v)", c.CommandPath(), line, err)
				continue
			}
			if err := found.ParseFlags(rest); err != nil && !errors.Is(err, pflag.ErrHelp) {
				t.Errorf("%q: example %q: %v", c.CommandPath(), line, err)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// exampleArgs returns the arguments after "porttrack" in an example line,
// which may sit in a process substitution or be followed by a pipe, a
// redirection or a comment; nil when the line runs no porttrack.
func exampleArgs(line string) []string {
	_, after, ok := strings.Cut(line, "porttrack ")
	if !ok {
		return nil
	}
	var args []string
	var cur strings.Builder
	quote := rune(0)
	inWord := false
	for _, r := range after {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune("#|>)&", r):
			if inWord {
				args = append(args, cur.String())
			}
			return args
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args
}
