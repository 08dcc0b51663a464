package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// helperEnv makes the test binary act as porttrack itself, so tests can run
// real, separate porttrack processes against one database file.
const helperEnv = "PORTTRACK_TEST_AS_CLI"

var template struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// The gates' caches of per-test coverage and mutant outcomes are the
	// test binary's own.
	cache, err := os.MkdirTemp("", "porttrack-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("PORTTRACK_CACHE", cache)
	defer os.RemoveAll(cache)
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if template.dir != "" {
			os.RemoveAll(template.dir)
		}
		os.Exit(code)
	}))
}

// templateDB runs init on the repository's catalog once per test binary;
// tests get copies, since importing is slow under -race.
func templateDB(t *testing.T) []byte {
	t.Helper()
	template.once.Do(func() {
		if template.dir, template.err = os.MkdirTemp("", "porttrack-cli-test"); template.err != nil {
			return
		}
		template.path = filepath.Join(template.dir, "porting.db")
		e := &env{Out: io.Discard, Err: io.Discard, DBPath: template.path, Actor: "tester", Root: template.dir}
		template.err = runInit(context.Background(), e, &initOptions{CatalogDir: catalogDir})
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	data, err := os.ReadFile(template.path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const catalogDir = "../../catalog"

// testEnv is a command environment on a fresh database in a temporary
// repository root.
type testEnv struct {
	*env
	out, err *bytes.Buffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	te := &testEnv{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	te.env = &env{Out: te.out, Err: te.err, DBPath: filepath.Join(root, "porting.db"), Actor: "tester", Root: root}
	if err := os.WriteFile(te.DBPath, templateDB(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return te
}

// reset clears captured output between steps of one test.
func (te *testEnv) reset() {
	te.out.Reset()
	te.err.Reset()
}

// writeFile creates a file under the environment's repository root.
func (te *testEnv) writeFile(t *testing.T, rel, content string) string {
	t.Helper()
	path := filepath.Join(te.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withDB gives direct API access for arranging state the CLI cannot make,
// such as evidence recorded by the verify gates.
func (te *testEnv) withDB(t *testing.T, fn func(d *db.DB)) {
	t.Helper()
	d, err := db.Open(context.Background(), te.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fn(d)
}

// dump renders every table's full content, to prove a refused call wrote
// nothing.
func dump(t *testing.T, path string) string {
	t.Helper()
	s, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	for _, table := range []string{"batches", "batch_deps", "features", "tests", "calls", "status_log", "evidence"} {
		rows, err := s.Query("SELECT * FROM " + table + " ORDER BY 1, 2")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "== %s\n", table)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

// runCLI runs porttrack in-process through execute, as main does.
func runCLI(t *testing.T, te *testEnv, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Chdir(te.Root)
	code = execute(context.Background(), append(args, "--db", te.DBPath), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustContainLine wants one line of got holding every part, in order.
func mustContainLine(t *testing.T, got string, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(got, "\n") {
		rest, found := line, true
		for _, p := range parts {
			_, after, ok := strings.Cut(rest, p)
			if !ok {
				found = false
				break
			}
			rest = after
		}
		if found {
			return
		}
	}
	t.Errorf("no line holds %q in order:\n%s", parts, got)
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}
