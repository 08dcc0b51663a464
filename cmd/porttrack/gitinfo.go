package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// gitFacts is what evidence says about the checkout the gates ran on.
type gitFacts struct {
	// Commit is HEAD, or empty outside a git checkout.
	Commit string
	// Dirty lists changed or untracked paths other than the database files.
	Dirty []string
}

// clean reports whether the evidence can be tied to Commit alone.
func (g gitFacts) clean() bool { return g.Commit != "" && len(g.Dirty) == 0 }

// readGitFacts asks git about the checkout at root. The porting database
// (porting.db and the file in use, with their -wal/-shm) never makes the tree
// dirty: recording evidence writes to it, and it is committed after the
// promotion it records. Outside a git checkout Commit is empty.
func readGitFacts(ctx context.Context, root, dbPath string) (gitFacts, error) {
	head, err := gitOutput(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		// Not a checkout with a commit (or no git at all): the evidence then
		// names no commit and counts as taken on a dirty tree, which is what
		// clean reports; --promote refuses it.
		return gitFacts{}, nil
	}
	status, err := gitOutput(ctx, root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
	if err != nil {
		return gitFacts{}, fmt.Errorf("git status in %s: %w", root, err)
	}
	ignored := databasePaths(root, dbPath)
	facts := gitFacts{Commit: strings.TrimSpace(head)}
	entries := strings.Split(status, "\x00")
	for i := 0; i < len(entries); i++ {
		entry := entries[i]
		if len(entry) < 4 {
			continue
		}
		code, path := entry[:2], entry[3:]
		// A rename or copy is followed by its source path in its own entry.
		if code[0] == 'R' || code[0] == 'C' {
			i++
		}
		if !slices.Contains(ignored, path) {
			facts.Dirty = append(facts.Dirty, path)
		}
	}
	return facts, nil
}

// databasePaths are the root-relative, slash-separated paths of the database
// files that do not count as changes to the code.
func databasePaths(root, dbPath string) []string {
	names := []string{"porting.db"}
	if abs, err := filepath.Abs(dbPath); err == nil {
		if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "..") {
			names = append(names, filepath.ToSlash(rel))
		}
	}
	var out []string
	for _, n := range names {
		out = append(out, n, n+"-wal", n+"-shm")
	}
	return out
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
