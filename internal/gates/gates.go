// Package gates runs the verification gates of a porting batch: each gate
// inspects the port (statically or by running the go command) and returns
// one Result per item it applies to. The package stores nothing; the caller
// records the results as evidence and decides on status changes.
//
// A verification fills an Input with the items and what the tracker knows
// (whether the batch can start, each feature's callees and their statuses)
// and runs the default gates:
//
//	in := &gates.Input{RepoDir: root, Items: items, BatchCanStart: ok,
//		BlockingReason: why, CalleeStatus: callees, Mutants: n, Progress: os.Stderr}
//	results, err := gates.RunAll(ctx, gates.Default(in), in)
//	passed := gates.Verdicts(in.Items, results) // per item: every gate passed
//
// A checkpoint sets ScanDirs and TestPackages (and usually no items) and
// runs StubScan, Build and Suite, each giving one whole-tree result:
//
//	results, err := gates.RunAll(ctx, []gates.Gate{gates.StubScan{}, gates.Build{}, gates.Suite{}}, in)
//
// Which gates judge which items:
//
//	dependency  features and tests (callees: features only)
//	stubscan    features and tests; plus one whole-tree result with ScanDirs
//	build       every item (one outcome, repeated), or one whole-tree result
//	test        tests
//	coverage    features
//	mutation    features, only when Input.Mutants > 0
//	suite       every item (one outcome, repeated), or one whole-tree result;
//	            not in Default: the checkpoint's whole-suite run
//
// An error from a gate means it could not judge (bad input, cancelled
// context); a defect in the port is a Result with Passed false.
package gates

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Item kinds.
const (
	KindFeature = "feature"
	KindTest    = "test"
)

// Gate names, as stored in evidence.
const (
	GateDependency = "dependency"
	GateStubScan   = "stubscan"
	GateBuild      = "build"
	GateTest       = "test"
	GateCoverage   = "coverage"
	GateMutation   = "mutation"
	GateSuite      = "suite" // the whole-suite run of a checkpoint
)

// Item is one tracked feature or test, mapped to a function in the repo.
type Item struct {
	Kind         string // KindFeature or KindTest
	ID           int
	Batch        int
	Slice        string
	TargetFile   string // slash-separated, relative to Input.RepoDir
	TargetSymbol string // "Func", "(T).Method" or "(*T).Method"
	Status       string
	// RefLines is the length of the reference function it ports (0 when
	// unknown); the static scan holds a lone zero-value return against it.
	RefLines int
}

// CalleeInfo is one callee of a feature in the reference call graph.
type CalleeInfo struct {
	ID     int
	Symbol string
	Status string
}

// Finding is one defect, located in the source where possible.
type Finding struct {
	File    string
	Line    int
	Message string
}

func (f Finding) String() string {
	switch {
	case f.File == "":
		return f.Message
	case f.Line == 0:
		return f.File + ": " + f.Message
	}
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)
}

// Result is one gate's verdict on one item. Gates that judge the tree as a
// whole (build, a checkpoint scan) with no items return a single Result
// whose ItemID is 0.
type Result struct {
	Gate     string
	Kind     string
	ItemID   int
	Passed   bool
	Summary  string
	Findings []Finding
	Command  string // the go command run, empty for static gates
	ExitCode int
	Duration time.Duration
	Coverage float64 // coverage gate: covered fraction of the target function's statements
	KillRate float64 // mutation gate: killed / (killed + survived)
	Detail   map[string]any
}

// Input is everything a gate may need. Only RepoDir and Items are required;
// the rest have defaults derived from the items.
type Input struct {
	RepoDir string
	Items   []Item

	// Dependency gate.
	BatchCanStart  bool
	BlockingReason string
	CalleeStatus   map[int][]CalleeInfo // feature ID -> its callees

	// Packages as go command patterns relative to RepoDir ("./raftport").
	// Empty: the directories of the test items' (resp. features') target files.
	TestPackages   []string
	TargetPackages []string

	// ScanDirs switches the static scan to checkpoint mode: every function of
	// every .go file in these directories (relative to RepoDir) is scanned.
	ScanDirs []string

	// Mutation gate.
	Mutants int // per feature; 0 disables the gate
	// MutantTimeout bounds one mutant's test runs together, and each one
	// (which gets twice its unmutated time plus 5s, at most this);
	// default 2 minutes.
	MutantTimeout time.Duration
	// MutationFeatures are features mutated only so that the run's test
	// items can show they kill something (no result is given for them):
	// in a run of tests alone, the features of their batches.
	MutationFeatures []Item
	// MaxTestsPerMutant bounds the covering tests a mutant runs against
	// before it counts as a survivor (fastest first); 0 means
	// DefaultMaxTestsPerMutant.
	MaxTestsPerMutant int
	// MinKillRate is the kill rate a feature needs to pass the mutation
	// gate; 0 means DefaultMinKillRate. Survivors are reported as findings
	// either way.
	MinKillRate float64

	// Coverage and mutation: which tests count. ClaimTests lists, per batch,
	// the mapped tests of the batch and of the batches it depends on; nil
	// means the run's test items. Tests matching EndToEnd (default
	// DefaultEndToEnd) count for every feature.
	ClaimTests map[int][]TestRef
	EndToEnd   *regexp.Regexp
	// MinCoverage is the fraction of a feature's statements its claiming
	// tests must run; 0 means DefaultMinCoverage.
	MinCoverage float64
	// Excused maps a feature ID to the mutants (by key) recorded as
	// equivalent, each with its reason; they leave the kill rate's count.
	Excused map[int]map[string]string
	// Parallel is how many test processes and mutant builds run at once;
	// default 2. CacheDir holds per-test coverage and mutant outcomes keyed
	// by the tree's hash (default $PORTTRACK_CACHE or the user cache dir).
	Parallel int
	CacheDir string

	// CommandTimeout bounds each go command of the build, test and coverage
	// gates; default 10 minutes.
	CommandTimeout time.Duration

	// Progress receives one plain line per step; nil discards.
	Progress io.Writer

	memo *perTestMemo
}

// The thresholds the README states.
const (
	// DefaultMinKillRate is the kill rate a feature's mutants must reach.
	DefaultMinKillRate = 0.8
	// DefaultMinCoverage is the fraction of a feature's statements that the
	// tests claiming it (mapped and end-to-end) must run.
	DefaultMinCoverage = 0.5
)

// Gate is one verification gate.
type Gate interface {
	Name() string
	Run(ctx context.Context, in *Input) ([]Result, error)
}

// Default returns the gates in the order a verification runs them; the
// mutation gate is included only when in.Mutants > 0.
func Default(in *Input) []Gate {
	gs := []Gate{Dependency{}, StubScan{}, Build{}, Test{}, Coverage{}}
	if in.Mutants > 0 {
		gs = append(gs, Mutation{})
	}
	return gs
}

// RunAll runs the gates in order and concatenates their results. A gate
// error (bad input, cancelled context) stops the run; failed gates do not.
func RunAll(ctx context.Context, gs []Gate, in *Input) ([]Result, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var all []Result
	for _, g := range gs {
		in.progressf("gate %s: running", g.Name())
		rs, err := g.Run(ctx, in)
		if err != nil {
			return all, fmt.Errorf("gate %s: %w", g.Name(), err)
		}
		all = append(all, rs...)
	}
	return all, nil
}

// ItemKey identifies an item across kinds (feature and test IDs may overlap).
type ItemKey struct {
	Kind string
	ID   int
}

// Verdicts folds results into one verdict per item: an item passes only if
// every result about it passed. Whole-tree results (ItemID 0) apply to
// every item.
func Verdicts(items []Item, results []Result) map[ItemKey]bool {
	out := make(map[ItemKey]bool, len(items))
	for _, it := range items {
		out[ItemKey{it.Kind, it.ID}] = true
	}
	for _, r := range results {
		if r.Passed {
			continue
		}
		if r.ItemID == 0 {
			for k := range out {
				out[k] = false
			}
			continue
		}
		if k := (ItemKey{r.Kind, r.ItemID}); out[k] {
			out[k] = false
		}
	}
	return out
}

func (in *Input) validate() error {
	if in.RepoDir == "" {
		return fmt.Errorf("no repository directory given")
	}
	for _, it := range in.Items {
		if it.Kind != KindFeature && it.Kind != KindTest {
			return fmt.Errorf("item %d: unknown kind %q (want feature or test)", it.ID, it.Kind)
		}
		if it.TargetFile == "" || it.TargetSymbol == "" {
			return fmt.Errorf("%s %d: no target file or symbol mapped", it.Kind, it.ID)
		}
		if _, err := parseSymbol(it.TargetSymbol); err != nil {
			return fmt.Errorf("%s %d: %w", it.Kind, it.ID, err)
		}
	}
	return nil
}

func (in *Input) progressf(format string, args ...any) {
	if in.Progress != nil {
		fmt.Fprintf(in.Progress, format+"\n", args...)
	}
}

func (in *Input) itemsOf(kind string) []Item {
	var out []Item
	for _, it := range in.Items {
		if it.Kind == kind {
			out = append(out, it)
		}
	}
	return out
}

func (in *Input) testPackages() []string {
	if len(in.TestPackages) > 0 {
		return in.TestPackages
	}
	return packagesOf(in.itemsOf(KindTest))
}

func (in *Input) targetPackages() []string {
	if len(in.TargetPackages) > 0 {
		return in.TargetPackages
	}
	return packagesOf(in.itemsOf(KindFeature))
}

func (in *Input) abs(rel string) string {
	return filepath.Join(in.root(), filepath.FromSlash(rel))
}

// root is RepoDir made absolute: the go command resolves -overlay paths
// against its own working directory, and findings are reported relative to
// the root, so every path is built from one absolute base.
func (in *Input) root() string {
	root, err := filepath.Abs(in.RepoDir)
	if err != nil {
		return in.RepoDir
	}
	return root
}

func (in *Input) commandTimeout() time.Duration {
	if in.CommandTimeout > 0 {
		return in.CommandTimeout
	}
	return 10 * time.Minute
}

// packagesOf returns the sorted distinct package directories of the items'
// target files, as go command patterns.
func packagesOf(items []Item) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		p := "./" + path.Dir(it.TargetFile)
		if p == "./." {
			p = "."
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func joinFindings(fs []Finding, max int) string {
	var b strings.Builder
	for i, f := range fs {
		if i == max {
			fmt.Fprintf(&b, "; and %d more", len(fs)-max)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}
