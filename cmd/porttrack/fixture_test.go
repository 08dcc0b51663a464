package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// The gates' fixture module supplies go.mod and calc/calc.go; the fixture
// repository adds generated functions, so that one batch holds more than
// db.MaxIDsPerCall features, and a clean test file (the gates' own test file
// plants defects on purpose).
const gatesFixture = "../../internal/gates/testdata/fixture"

// genCount is how many generated functions Gen01..GenNN the fixture has.
const genCount = 18

// Fixture items, all in batch 1: features 1 Add, 2 Sign, 3 SumTo (slice A),
// 4..21 Gen01..Gen18 (slice B); tests 101 TestAdd, 102 TestSign, 103
// TestSumTo (T1), 104 TestGen (T2). Batch 2 depends on batch 1 and holds
// feature 30 Triple. In the call graph Gen01 calls Gen02, Sign calls Add,
// Add calls Gen18 (a callee in a later group) and SumTo calls Triple, a
// callee in a later batch.
func fixtureCatalog() map[string]string {
	var items strings.Builder
	items.WriteString("kind\tid\tbatch\tslice\tgo_file\tgo_symbol\tgo_line_start\tgo_line_end\n")
	for i, sym := range []string{"Add", "Sign", "SumTo"} {
		fmt.Fprintf(&items, "feature\t%d\t1\tA\tserver/calc.go\t%s\t%d\t%d\n", i+1, sym, i*10+1, i*10+9)
	}
	for g := 1; g <= genCount; g++ {
		fmt.Fprintf(&items, "feature\t%d\t1\tB\tserver/calc.go\tGen%02d\t%d\t%d\n", g+3, g, 100+g*10, 105+g*10)
	}
	for i, sym := range []string{"TestAdd", "TestSign", "TestSumTo"} {
		fmt.Fprintf(&items, "test\t%d\t1\tT1\tserver/calc_test.go\t%s\t%d\t%d\n", 101+i, sym, i*10+1, i*10+9)
	}
	items.WriteString("test\t104\t1\tT2\tserver/calc_test.go\tTestGen\t100\t120\n")
	items.WriteString("feature\t30\t2\t\tserver/calc.go\tTriple\t300\t309\n")
	return map[string]string{
		"batches.tsv": "id\tname\tgo_file\tdepends_on\tstatus\tdescription\n1\tFixture\tserver/calc.go\t\tpending\tthe gates fixture\n" +
			"2\tLater\tserver/calc.go\t1\tpending\tdepends on the fixture\n",
		"catalog.tsv": items.String(),
		"calls.tsv":   "caller_id\tcallee_id\n4\t5\n2\t1\n3\t30\n1\t21\n",
	}
}

const fixtureTests = `package calctest

import (
	"testing"

	"example.com/fixture/calc"
)

func TestAdd(t *testing.T) {
	if got := calc.Add(2, 3); got != 5 {
		t.Fatalf("Add(2, 3) = %d, want 5", got)
	}
}

func TestSign(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{-5, -1}, {0, 0}, {5, 1}} {
		if got := calc.Sign(tc.in); got != tc.want {
			t.Errorf("Sign(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSumTo(t *testing.T) {
	for n, want := range []int{0, 1, 3, 6} {
		if got := calc.SumTo(n); got != want {
			t.Errorf("SumTo(%d) = %d, want %d", n, got, want)
		}
	}
}
`

func genSource() (code, test string) {
	var c, tt strings.Builder
	c.WriteString("package calc\n")
	tt.WriteString("package calctest\n\nimport (\n\t\"testing\"\n\n\t\"example.com/fixture/calc\"\n)\n\nfunc TestGen(t *testing.T) {\n")
	for g := 1; g <= genCount; g++ {
		fmt.Fprintf(&c, "\n// Gen%02d adds its offset.\nfunc Gen%02d(n int) int {\n\treturn n + %d\n}\n", g, g, g)
		fmt.Fprintf(&tt, "\tif got := calc.Gen%02d(10); got != %d {\n\t\tt.Errorf(\"Gen%02d(10) = %%d, want %d\", got)\n\t}\n", g, 10+g, g, 10+g)
	}
	tt.WriteString("}\n")
	return c.String(), tt.String()
}

// newFixtureEnv builds a git repository holding the fixture module and a
// porting.db whose items are mapped to it, all committed.
func newFixtureEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	te := &testEnv{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	te.env = &env{Out: te.out, Err: te.err, DBPath: filepath.Join(root, "porting.db"), Actor: "tester", Root: root}
	for _, rel := range []string{"go.mod", "calc/calc.go"} {
		data, err := os.ReadFile(filepath.Join(gatesFixture, rel))
		if err != nil {
			t.Fatal(err)
		}
		te.writeFile(t, rel, string(data))
	}
	gen, genTest := genSource()
	te.writeFile(t, "calc/gen.go", gen)
	te.writeFile(t, "calctest/calc_test.go", fixtureTests)
	te.writeFile(t, "calctest/gen_test.go", genTest)
	te.writeFile(t, ".gitignore", "*.db-wal\n*.db-shm\n")

	ctx := context.Background()
	if err := runInit(ctx, te.env, &initOptions{CatalogDir: writeCatalog(t, fixtureCatalog())}); err != nil {
		t.Fatalf("init: %v", err)
	}
	te.withDB(t, func(d *db.DB) {
		features := []db.Target{{ID: 1, File: "calc/calc.go", Symbol: "Add"}, {ID: 2, File: "calc/calc.go", Symbol: "Sign"}, {ID: 3, File: "calc/calc.go", Symbol: "SumTo"}}
		features = append(features, db.Target{ID: 30, File: "calc/calc.go", Symbol: "Triple"})
		for g := 1; g <= genCount; g++ {
			features = append(features, db.Target{ID: g + 3, File: "calc/gen.go", Symbol: fmt.Sprintf("Gen%02d", g)})
		}
		tests := []db.Target{{ID: 101, File: "calctest/calc_test.go", Symbol: "TestAdd"}, {ID: 102, File: "calctest/calc_test.go", Symbol: "TestSign"},
			{ID: 103, File: "calctest/calc_test.go", Symbol: "TestSumTo"}, {ID: 104, File: "calctest/gen_test.go", Symbol: "TestGen"}}
		if err := errors.Join(d.SetTargets(ctx, db.KindFeature, features), d.SetTargets(ctx, db.KindTest, tests)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	})
	git(t, root, "init", "-q")
	commitAll(t, root, "fixture")
	te.reset()
	return te
}

// git runs a git command in dir with a fixed identity and returns its output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=tester", "-c", "user.email=tester@example.com", "-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
}

// latest returns the newest evidence per gate of one item.
func latest(t *testing.T, te *testEnv, kind db.ItemKind, id int) map[db.Gate]db.Evidence {
	t.Helper()
	var out map[db.Gate]db.Evidence
	te.withDB(t, func(d *db.DB) {
		var err error
		if out, err = d.LatestEvidence(context.Background(), kind, id); err != nil {
			t.Fatal(err)
		}
	})
	return out
}
