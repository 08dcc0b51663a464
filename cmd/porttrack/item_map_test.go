package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func itemTarget(t *testing.T, te *testEnv, kind db.ItemKind, id int) (string, string) {
	t.Helper()
	var it db.Item
	te.withDB(t, func(d *db.DB) {
		var err error
		if it, err = d.Item(context.Background(), kind, id); err != nil {
			t.Fatal(err)
		}
	})
	return it.TargetFile, it.TargetSymbol
}

func TestAutoMapMatchesReceivers(t *testing.T) {
	te := newTestEnv(t)
	te.writeFile(t, "raftport/state.go", `package raftport

type RaftState int

func (s RaftState) String() string { return "" }

type raft struct{}

// A value receiver still matches the reference's pointer receiver.
func (n raft) processAppendEntry() {}

func decodePeerState() {}
`)
	te.writeFile(t, "raftport/generic.go", `package raftport

type appendEntry[T any] struct{}

func (ae *appendEntry[T]) encode() {}
`)
	te.writeFile(t, "raftport/inner/dup.go", "package inner\n\nfunc decodeVoteRequest() {}\n")
	te.writeFile(t, "raftport/dup.go", "package raftport\n\nfunc decodeVoteRequest() {}\n")
	// A _test.go file is not a feature target, and testdata is skipped.
	te.writeFile(t, "raftport/state_test.go", "package raftport\n\nfunc (n *raft) isCurrent() {}\n")
	te.writeFile(t, "raftport/testdata/skip.go", "package skip\n\nfunc (n *raft) Current() {}\n")

	err := runItemMap(context.Background(), te.env, &itemMapOptions{Kind: db.KindFeature, Auto: filepath.Join(te.Root, "raftport")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][2]string{
		2599: {"raftport/state.go", "(RaftState).String"},
		2751: {"raftport/state.go", "(raft).processAppendEntry"},
		2764: {"raftport/state.go", "decodePeerState"},
		2715: {"raftport/generic.go", "(*appendEntry).encode"},
	}
	for id, w := range want {
		file, sym := itemTarget(t, te, db.KindFeature, id)
		if file != w[0] || sym != w[1] {
			t.Errorf("feature %d mapped to %q %q, want %q %q", id, file, sym, w[0], w[1])
		}
	}
	out := te.out.String()
	mustContain(t, out, "Mapped 4 of 198 features", "Defined more than once, not mapped (1)", "raftport/dup.go, raftport/inner/dup.go",
		"Not found in", "(*raft).isCurrent", "(*raft).Current")
	for _, id := range []int{2653, 2654, 2771} {
		if file, _ := itemTarget(t, te, db.KindFeature, id); file != "" {
			t.Errorf("feature %d got mapped to %s", id, file)
		}
	}
}

func TestAutoMapTests(t *testing.T) {
	te := newTestEnv(t)
	te.writeFile(t, "raftport_test/simple_test.go", "package raftport_test\n\nimport \"testing\"\n\nfunc TestNRGSimple(t *testing.T) {}\n")
	te.writeFile(t, "raftport_test/helper.go", "package raftport_test\n\nfunc TestNRGSimpleElection() {}\n")
	if err := runItemMap(context.Background(), te.env, &itemMapOptions{Kind: db.KindTest, Auto: filepath.Join(te.Root, "raftport_test"), Batch: 30}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "Mapped 1 of 85 tests")
	if file, sym := itemTarget(t, te, db.KindTest, 2616); file != "raftport_test/simple_test.go" || sym != "TestNRGSimple" {
		t.Fatalf("test 2616 mapped to %q %q", file, sym)
	}
	if file, _ := itemTarget(t, te, db.KindTest, 2617); file != "" {
		t.Fatalf("a function in a non-test file was mapped as a test: %s", file)
	}
}

func TestManualMap(t *testing.T) {
	te := newTestEnv(t)
	path := te.writeFile(t, "raftport/append.go", "package raftport\n\ntype raft struct{}\n\nfunc (n *raft) processAppendEntry() {}\n")
	ctx := context.Background()
	before := dump(t, te.DBPath)
	if err := runItemMap(ctx, te.env, &itemMapOptions{Kind: db.KindFeature, ID: 2751, File: path, Symbol: "(*raft).processAppendEntry"}); err != nil {
		t.Fatal(err)
	}
	if file, sym := itemTarget(t, te, db.KindFeature, 2751); file != "raftport/append.go" || sym != "(*raft).processAppendEntry" {
		t.Fatalf("2751 mapped to %q %q", file, sym)
	}
	te.withDB(t, func(d *db.DB) {
		log, err := d.History(ctx, db.KindFeature, 2751)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 1 {
			t.Fatalf("mapping added status_log rows: %+v", log)
		}
	})
	if dump(t, te.DBPath) == before {
		t.Fatal("map did not change the database")
	}

	var ue *usageError
	cases := []*itemMapOptions{
		{Kind: db.KindFeature, ID: 2751, File: path, Symbol: "(*raft).missing"},
		{Kind: db.KindFeature, ID: 2751, File: path, Symbol: "(*raft"},
		{Kind: db.KindFeature, ID: 2751, File: filepath.Join(te.Root, "nope.go"), Symbol: "f"},
		{Kind: db.KindFeature, ID: 2751, File: "/etc/hostname", Symbol: "f"},
		{Kind: db.KindTest, ID: 2616, File: path, Symbol: "(*raft).processAppendEntry"},
		{Kind: db.KindFeature, ID: 2751, File: path},
		{Kind: db.KindFeature, ID: 2751, Auto: te.Root},
		{Kind: db.KindFeature, Auto: filepath.Join(te.Root, "nope")},
	}
	for _, c := range cases {
		mid := dump(t, te.DBPath)
		if err := runItemMap(ctx, te.env, c); !errors.As(err, &ue) {
			t.Errorf("map %+v: %v, want usage error", c, err)
		}
		if dump(t, te.DBPath) != mid {
			t.Errorf("rejected map %+v changed the database", c)
		}
	}
	var bad *db.BadInputError
	if err := runItemMap(ctx, te.env, &itemMapOptions{Kind: db.KindFeature, ID: 9999, File: path, Symbol: "(*raft).processAppendEntry"}); !errors.As(err, &bad) {
		t.Fatalf("map unknown feature: %v, want bad input", err)
	}
}

func TestSymbolKey(t *testing.T) {
	good := map[string]string{
		"(*raft).processAppendEntry": "raft.processAppendEntry",
		"(raft).processAppendEntry":  "raft.processAppendEntry",
		"(RaftState).String":         "RaftState.String",
		"decodePeerState":            "decodePeerState",
	}
	for in, want := range good {
		if got, err := symbolKey(in); err != nil || got != want {
			t.Errorf("symbolKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "(raft)", "(*).f", "().f", "a.b", "(raft).", "f g"} {
		if got, err := symbolKey(in); err == nil {
			t.Errorf("symbolKey(%q) = %q, want an error", in, got)
		}
	}
}
