package codehash

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustHash(t *testing.T, root string, dirs ...string) string {
	t.Helper()
	h, err := Dirs(root, dirs)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDirsTracksGoSourceOnly(t *testing.T) {
	root := t.TempDir()
	write(t, root, "p/a.go", "package p\n")
	write(t, root, "p/a_test.go", "package p\n")
	base := mustHash(t, root, "p")
	if !strings.HasPrefix(base, Prefix) {
		t.Fatalf("hash %q lacks prefix %q", base, Prefix)
	}
	if again := mustHash(t, root, "p", "./p"); again != base {
		t.Fatal("naming a directory twice changed the hash")
	}

	// Files that are not Go source, nested packages and porting.db do not count.
	write(t, root, "p/notes.txt", "x")
	write(t, root, "p/porting.db", "x")
	write(t, root, "p/sub/b.go", "package sub\n")
	if got := mustHash(t, root, "p"); got != base {
		t.Fatal("a non-Go file or a subpackage changed the hash")
	}

	steps := []func(){
		func() { write(t, root, "p/a.go", "package p\n\nvar x = 1\n") },
		func() { write(t, root, "p/c.go", "package p\n") },
		func() {
			if err := os.Rename(filepath.Join(root, "p/c.go"), filepath.Join(root, "p/d.go")); err != nil {
				t.Fatal(err)
			}
		},
		func() { write(t, root, "p/a_test.go", "package p\n// changed\n") },
	}
	seen := map[string]bool{base: true}
	for i, step := range steps {
		step()
		h := mustHash(t, root, "p")
		if seen[h] {
			t.Fatalf("step %d did not change the hash", i)
		}
		seen[h] = true
	}
}

func TestDirsBoundariesAndErrors(t *testing.T) {
	// Moving a byte from a file's name into its content must not collide.
	one, two := t.TempDir(), t.TempDir()
	write(t, one, "p/ab.go", "c")
	write(t, two, "p/a.go", "bc")
	if mustHash(t, one, "p") == mustHash(t, two, "p") {
		t.Fatal("different files hashed alike")
	}
	root := t.TempDir()
	if mustHash(t, root) != mustHash(t, t.TempDir()) {
		t.Fatal("hash of no directories depends on the root")
	}
	if _, err := Dirs(root, []string{"missing"}); err == nil {
		t.Fatal("a missing directory hashed without error")
	}
}
