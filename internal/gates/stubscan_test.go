package gates

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestStubScanFeatures(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), Items: []Item{
		featAdd, featSign, featIsPositive, featTriple, featID, featClose, featKind,
		featParse, featReset, featScale, featRound, featLookup, featZero, featNormalize, featFlush, featMissing,
	}}
	rs, err := StubScan{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	for _, good := range []Item{featAdd, featSign, featIsPositive, featTriple, featID, featClose, featKind} {
		expect(t, got, good, true, "", 0)
	}
	expect(t, got, featParse, false, "only panics", 7)
	expect(t, got, featParse, false, "never uses its parameter s", 6)
	expect(t, got, featReset, false, "empty body", 11)
	expect(t, got, featScale, false, "never uses its parameter factor", 14)
	expect(t, got, featRound, false, `admits a shortcut ("for now")`, 18)
	expect(t, got, featLookup, false, "not-implemented error", 25)
	expect(t, got, featZero, false, "only returns zero values", 30)
	expect(t, got, featNormalize, false, "unfinished work", 35)
	expect(t, got, featFlush, false, "only returns zero values", 41)
	expect(t, got, featMissing, false, "Missing not found", 0)
}

func TestStubScanTests(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), Items: []Item{
		testAdd, testSign, testWeak, testSkipped, testSkipHelper, testNoFail, testSubtests, testFailing, testMissing, testTable,
	}}
	rs, err := StubScan{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	for _, good := range []Item{testAdd, testSign, testWeak, testSubtests, testFailing, testTable} {
		expect(t, got, good, true, "", 0)
	}
	expect(t, got, testSkipped, false, "TestSkipped is skipped", 28)
	expect(t, got, testSkipHelper, false, "skipped (through needsNetwork)", 65)
	expect(t, got, testNoFail, false, "cannot fail", 39)
	expect(t, got, testMissing, false, "TestMissing not found", 0)
}

func TestStubScanDirectories(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), ScanDirs: []string{"calc", "calctest"}}
	rs, err := StubScan{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ItemID != 0 || rs[0].Passed {
		t.Fatalf("want one failing whole-tree result, got %+v", rs)
	}
	lines := map[string]bool{}
	for _, f := range rs[0].Findings {
		lines[f.String()] = true
	}
	for _, want := range []string{
		"calc/stubs.go:7: Parse only panics",
		"calc/stubs.go:11: Reset has an empty body",
		`calc/stubs.go:18: comment admits a shortcut ("for now")`,
		`calc/stubs.go:35: comment marks unfinished work ("TODO")`,
		"calctest/calc_test.go:28: TestSkipped is skipped",
		"calctest/calc_test.go:39: TestNoFailurePath cannot fail: no live t.Fatal/t.Error/FailNow or require/assert call, and no helper that asserts (one that makes such a call and returns nothing or checks its arguments)",
	} {
		if !lines[want] {
			t.Errorf("missing finding %q in %v", want, rs[0].Findings)
		}
	}
	for l := range lines {
		if containsFold(l, "calc.go") || containsFold(l, "TestAdd") {
			t.Errorf("finding about good code: %s", l)
		}
	}

	clean := &Input{RepoDir: fixtureDir(t), ScanDirs: []string{"failing"}}
	rs, err = StubScan{}.Run(context.Background(), clean)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Passed {
		t.Fatalf("failing/ has no placeholder, got %+v", rs)
	}
}

// TestPlaceholderRules pins the one-liner rules on snippets, including the
// legitimate ones that must not be reported.
func TestPlaceholderRules(t *testing.T) {
	cases := []struct {
		src, sym string
		want     string // empty: no finding
	}{
		{"type raft struct{ id string }\nfunc (n *raft) ID() string { return n.id }", "(*raft).ID", ""},
		{"type raft struct{}\nfunc (n *raft) Close() error { return nil }", "(*raft).Close", ""},
		{"type raft struct{}\nfunc (n *raft) processAppendEntry() error { return nil }", "(*raft).processAppendEntry", "only returns zero values"},
		{"func decodePeerState(buf []byte) (int, error) { return 0, nil }", "decodePeerState", "only returns zero values"},
		{"func decode(_ []byte) (int, error) { return len(\"ab\"), nil }", "decode", ""},
		{"type S struct{}\nfunc f(x int) S { return S{} }", "f", "only returns zero values"},
		{"type S struct{ a int }\nfunc f(x int) S { return S{a: x} }", "f", ""},
		{"import \"fmt\"\nfunc f() error { return fmt.Errorf(\"unimplemented\") }", "f", "not-implemented error"},
		{"import \"errors\"\nfunc f() error { return errors.New(\"closed\") }", "f", ""},
		{"func f() bool { return false }", "f", ""},
		{"func f(a int) {\n\tpanic(a)\n}", "f", "only panics"},
		{"// f is simplified.\nfunc f() int { return 1 }", "f", "admits a shortcut"},
		{"// f is the simplest form.\nfunc f() int { return 1 }", "f", ""},
		{"// f ports the XXX rule.\nfunc f() int { return 1 }", "f", "unfinished work"},
		{"func f() int {\n\t// FIXME\n\treturn 1\n}", "f", "unfinished work"},
		{"type T[K any] struct{ k K }\nfunc (t *T[K]) Key() K { return t.k }", "(*T).Key", ""},
		{"func f(a, b int) int { return a }", "f", "never uses its parameter b"},
		{"type raft struct{}\nfunc (n *raft) stop(err error) error { return err }\nfunc (n *raft) Stop() error { return n.stop(nil) }", "(*raft).Stop", ""},
		{"func f(b []byte) []byte { _ = b; return []byte(nil) }", "f", "discards its parameter b"},
		{"func f(b []byte) []byte { return []byte(nil) }", "f", "only returns zero values"},
		{"func f(b []byte) uint64 { return uint64(0) }", "f", "only returns zero values"},
		{"type T struct{}\nfunc f(b []byte) *T { return (*T)(nil) }", "f", "only returns zero values"},
		{"func parse() (v int) { return }", "parse", "only returns zero values"},
		{"func f() {}", "f", "empty body"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		path := filepath.Join(dir, "x.go")
		if err := os.WriteFile(path, []byte("package x\n"+c.src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := parseFile(path, "x.go")
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		sym, err := parseSymbol(c.sym)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		fd, _ := findFunc(p.file, sym)
		if fd == nil {
			t.Fatalf("case %d: %s not found", i, c.sym)
		}
		fs := funcFindings(p, fd, true, 0)
		switch {
		case c.want == "" && len(fs) > 0:
			t.Errorf("case %d (%s): unexpected findings %v", i, c.sym, fs)
		case c.want != "" && (len(fs) == 0 || !containsFold(joinFindings(fs, 10), c.want)):
			t.Errorf("case %d (%s): want a finding with %q, got %v", i, c.sym, c.want, fs)
		}
	}
}

func TestParseSymbol(t *testing.T) {
	good := map[string]symbol{
		"decodePeerState":            {Name: "decodePeerState"},
		"(RaftState).String":         {Recv: "RaftState", Name: "String"},
		"(*raft).processAppendEntry": {Recv: "raft", Pointer: true, Name: "processAppendEntry"},
	}
	for in, want := range good {
		got, err := parseSymbol(in)
		if err != nil || got != want {
			t.Errorf("parseSymbol(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "(raft)", "(*raft).", "raft.Method", "(*).x", "1abc"} {
		if _, err := parseSymbol(bad); err == nil {
			t.Errorf("parseSymbol(%q) accepted", bad)
		}
	}
}

// The gates' own sources pass their own checkpoint scan.
func TestStubScanOwnPackage(t *testing.T) {
	rs, err := StubScan{}.Run(context.Background(), &Input{RepoDir: ".", ScanDirs: []string{"."}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Passed {
		t.Fatalf("internal/gates has findings: %v", rs[0].Findings)
	}
}
