package gates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/tools/cover"
)

// TestRef names one top-level test function: its package directory
// (slash-separated, relative to Input.RepoDir, "." for the root) and name.
type TestRef struct {
	Dir  string `json:"dir"`
	Name string `json:"name"`
}

func (r TestRef) String() string { return r.Dir + "." + r.Name }

// DefaultEndToEnd selects the end-to-end tests: besides a batch's mapped
// tests (and its dependencies'), they are the tests whose coverage and
// kills count for every feature.
var DefaultEndToEnd = regexp.MustCompile(`^TestE2E`)

// block is one coverage block of a profile (covermode set).
type block struct {
	SL, SC, EL, EC, N int
}

// testRun is one mapped or end-to-end test run alone, with coverage.
type testRun struct {
	Ref      TestRef          `json:"ref"`
	Passed   bool             `json:"passed"`
	Duration time.Duration    `json:"duration"`
	Covered  map[string][]int `json:"covered"` // file -> indexes into perTest.Blocks[file]
}

// perTest is the coverage of each claiming test on its own: which blocks of
// the target packages each one ran. It is measured once per state of the
// tree (see treeHash) and cached.
type perTest struct {
	Key    string              `json:"key"`
	Blocks map[string][]block  `json:"blocks"` // file (repo-relative) -> every block of the profile
	Runs   map[string]*testRun `json:"runs"`   // TestRef.String() -> run
	// BuildTime and RunTime are what measuring took, for the figures.
	BuildTime time.Duration `json:"build_time"`
	RunTime   time.Duration `json:"run_time"`
	Cached    bool          `json:"-"`
}

// claims returns the tests whose coverage counts for a feature of batch:
// Input.ClaimTests[batch] (the mapped tests of the batch and its
// dependencies), or without it the run's test items, plus the end-to-end
// tests of the test packages.
func (in *Input) claims(pt *perTest, batch int) []TestRef {
	var refs []TestRef
	if in.ClaimTests != nil {
		refs = append(refs, in.ClaimTests[batch]...)
	} else {
		for _, it := range in.itemsOf(KindTest) {
			refs = append(refs, testRefOf(it))
		}
	}
	seen := map[string]bool{}
	var out []TestRef
	for _, r := range refs {
		if !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	for _, run := range pt.sortedRuns() {
		if in.endToEnd().MatchString(run.Ref.Name) && !seen[run.Ref.String()] {
			seen[run.Ref.String()] = true
			out = append(out, run.Ref)
		}
	}
	return out
}

func (in *Input) endToEnd() *regexp.Regexp {
	if in.EndToEnd != nil {
		return in.EndToEnd
	}
	return DefaultEndToEnd
}

func testRefOf(it Item) TestRef {
	sym, _ := parseSymbol(it.TargetSymbol)
	return TestRef{Dir: path.Dir(it.TargetFile), Name: sym.Name}
}

func (pt *perTest) sortedRuns() []*testRun {
	out := make([]*testRun, 0, len(pt.Runs))
	for _, r := range pt.Runs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out
}

// covering returns the passing claiming tests that ran the given position
// of file, fastest first.
func (pt *perTest) covering(claims []TestRef, file string, line, col int) []*testRun {
	var out []*testRun
	blocks := pt.Blocks[file]
	for _, c := range claims {
		run := pt.Runs[c.String()]
		if run == nil || !run.Passed {
			continue
		}
		for _, bi := range run.Covered[file] {
			b := blocks[bi]
			if !before(line, col, b.SL, b.SC) && !before(b.EL, b.EC, line, col) {
				out = append(out, run)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Duration < out[j].Duration })
	return out
}

// funcCoverage counts the statements of a function body (between the
// braces' positions) and how many of them the claiming tests ran, and
// names the tests that ran any.
func (pt *perTest) funcCoverage(claims []TestRef, file string, from, to [2]int) (covered, total int, by []string) {
	blocks := pt.Blocks[file]
	in := map[int]bool{}
	for i, b := range blocks {
		if before(b.SL, b.SC, from[0], from[1]) || before(to[0], to[1]+1, b.EL, b.EC) {
			continue
		}
		in[i] = true
		total += b.N
	}
	hit := map[int]bool{}
	for _, c := range claims {
		run := pt.Runs[c.String()]
		if run == nil || !run.Passed {
			continue
		}
		ran := false
		for _, bi := range run.Covered[file] {
			if in[bi] {
				ran = true
				hit[bi] = true
			}
		}
		if ran {
			by = append(by, c.Name)
		}
	}
	for bi := range hit {
		covered += blocks[bi].N
	}
	return covered, total, by
}

// measurePerTest runs every claiming test of every batch alone, with
// coverage of the target packages, once per tree state. Tests run in
// parallel (Input.Parallel); the binary is built once per test package
// with -cover and without -race.
func (in *Input) measurePerTest(ctx context.Context) (*perTest, error) {
	if in.memo == nil {
		in.memo = &perTestMemo{}
	}
	if !in.memo.done {
		in.memo.val, in.memo.err = in.measurePerTestNow(ctx)
		in.memo.done = true
	}
	return in.memo.val, in.memo.err
}

// perTestMemo keeps one measurement for every gate of a run.
type perTestMemo struct {
	done bool
	val  *perTest
	err  error
}

func (in *Input) allClaimRefs() []TestRef {
	var refs []TestRef
	seen := map[string]bool{}
	add := func(r TestRef) {
		if !seen[r.String()] {
			seen[r.String()] = true
			refs = append(refs, r)
		}
	}
	for _, it := range in.itemsOf(KindTest) {
		add(testRefOf(it))
	}
	var batches []int
	for b := range in.ClaimTests {
		batches = append(batches, b)
	}
	sort.Ints(batches)
	for _, b := range batches {
		for _, r := range in.ClaimTests[b] {
			add(r)
		}
	}
	return refs
}

func (in *Input) measurePerTestNow(ctx context.Context) (*perTest, error) {
	pkgs := in.testPackages()
	if len(pkgs) == 0 {
		return nil, errNoTestPackages
	}
	tree, err := treeHash(in.root())
	if err != nil {
		return nil, err
	}
	want := in.allClaimRefs()
	keyParts := []string{"pertest-v1", tree, strings.Join(in.targetPackages(), ","), strings.Join(pkgs, ","), in.endToEnd().String()}
	for _, r := range want {
		keyParts = append(keyParts, r.String())
	}
	key := shortHash(strings.Join(keyParts, "\n"))
	cachePath := filepath.Join(in.cacheDir(), "pertest-"+key+".json")
	if data, err := os.ReadFile(cachePath); err == nil {
		var pt perTest
		if json.Unmarshal(data, &pt) == nil && pt.Key == key {
			pt.Cached = true
			in.progressf("per-test coverage: from the cache (%s)", cachePath)
			return &pt, nil
		}
	}
	modPath, err := modulePath(in.RepoDir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "porttrack-pertest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pt := &perTest{Key: key, Blocks: map[string][]block{}, Runs: map[string]*testRun{}}
	start := time.Now()
	type job struct {
		ref TestRef
		bin string
	}
	var jobs []job
	for _, pkg := range pkgs {
		dir := strings.TrimPrefix(pkg, "./")
		if dir == "" {
			dir = "."
		}
		bin := filepath.Join(tmp, strings.ReplaceAll(dir, "/", "_")+".test")
		args := []string{"test", "-c", "-o", bin, "-cover", "-covermode=set", "-vet=off"}
		if tp := in.targetPackages(); len(tp) > 0 {
			args = append(args, "-coverpkg="+strings.Join(tp, ","))
		}
		args = append(args, pkg)
		in.progressf("per-test coverage: building %s", pkg)
		out, err := goCmd(ctx, in.RepoDir, in.commandTimeout(), args...)
		if err != nil {
			return nil, err
		}
		if out.ExitCode != 0 {
			return nil, fmt.Errorf("per-test coverage: %s: exit %d: %s", out.Command, out.ExitCode, strings.Join(tail(out.Stderr, 5), " | "))
		}
		if _, err := os.Stat(bin); err != nil {
			continue // a package without tests
		}
		names, err := listTests(ctx, bin, in.abs(dir))
		if err != nil {
			return nil, err
		}
		for _, r := range want {
			if r.Dir == dir && names[r.Name] {
				jobs = append(jobs, job{r, bin})
			}
		}
		for name := range names {
			r := TestRef{Dir: dir, Name: name}
			if in.endToEnd().MatchString(name) && !slices.Contains(want, r) {
				jobs = append(jobs, job{r, bin})
			}
		}
	}
	pt.BuildTime = time.Since(start)
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ref.String() < jobs[j].ref.String() })
	in.progressf("per-test coverage: running %s alone, %d at a time", plural(len(jobs), "test"), in.parallel())
	var mu sync.Mutex
	var firstErr error
	runStart := time.Now()
	parallelDo(in.parallel(), len(jobs), func(i int) {
		j := jobs[i]
		prof := filepath.Join(tmp, fmt.Sprintf("p%d.out", i))
		t0 := time.Now()
		out, err := runBinary(ctx, j.bin, in.abs(j.ref.Dir), in.commandTimeout(),
			"-test.run=^"+regexp.QuoteMeta(j.ref.Name)+"$", "-test.count=1", "-test.coverprofile="+prof,
			"-test.timeout="+in.commandTimeout().String())
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		run := &testRun{Ref: j.ref, Passed: out.ExitCode == 0, Duration: d, Covered: map[string][]int{}}
		pt.Runs[j.ref.String()] = run
		profiles, perr := cover.ParseProfiles(prof)
		if perr != nil {
			return
		}
		for _, p := range profiles {
			file := strings.TrimPrefix(p.FileName, modPath+"/")
			if _, ok := pt.Blocks[file]; !ok {
				var bs []block
				for _, b := range p.Blocks {
					bs = append(bs, block{b.StartLine, b.StartCol, b.EndLine, b.EndCol, b.NumStmt})
				}
				pt.Blocks[file] = bs
			}
			for bi, b := range p.Blocks {
				if b.Count > 0 && bi < len(pt.Blocks[file]) {
					run.Covered[file] = append(run.Covered[file], bi)
				}
			}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	pt.RunTime = time.Since(runStart)
	in.progressf("per-test coverage: %s in %s (build %s)", plural(len(jobs), "test"), pt.RunTime.Round(time.Second), pt.BuildTime.Round(time.Second))
	if data, err := json.Marshal(pt); err == nil {
		if os.MkdirAll(in.cacheDir(), 0o755) == nil {
			os.WriteFile(cachePath, data, 0o644)
		}
	}
	return pt, nil
}

// listTests asks a test binary for its top-level Test functions.
func listTests(ctx context.Context, bin, dir string) (map[string]bool, error) {
	out, err := runBinary(ctx, bin, dir, time.Minute, "-test.list=^Test")
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, l := range strings.Split(string(out.Stdout), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "Test") {
			names[l] = true
		}
	}
	return names, nil
}

// parallelDo runs f(0..n-1) on up to p goroutines.
func parallelDo(p, n int, f func(i int)) {
	if p < 1 {
		p = 1
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (in *Input) parallel() int {
	if in.Parallel > 0 {
		return in.Parallel
	}
	return 2
}

// cacheDir holds the per-test coverage and mutant outcomes, keyed by the
// tree hash: Input.CacheDir, else $PORTTRACK_CACHE, else the user cache.
func (in *Input) cacheDir() string {
	if in.CacheDir != "" {
		return in.CacheDir
	}
	if d := os.Getenv("PORTTRACK_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "porttrack")
	}
	return filepath.Join(os.TempDir(), "porttrack-cache")
}

// treeHash fingerprints every Go file of the module under root (test files
// included; testdata, hidden directories and nested modules left out) with
// go.mod and go.sum: any change that could change a test's outcome changes it.
func treeHash(root string) (string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || p == filepath.Join(root, "go.mod") || p == filepath.Join(root, "go.sum") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel := relPath(root, f)
		fmt.Fprintf(h, "%d:%s\x00%d:", len(rel), rel, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
