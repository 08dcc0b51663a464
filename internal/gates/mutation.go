package gates

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mutation tests the tests. For each feature it applies up to Input.Mutants
// small changes to the body (see mutants.go), one at a time, and runs
// against each the claiming tests that cover the changed line (per-test
// coverage, pertest.go), fastest first (at most Input.MaxTestsPerMutant),
// each in its own process, without -race. The repo is never written: the
// mutants reach the compiler through `go test -c -overlay`, all of a run's
// mutants in one build (a mutant schema: each is switched on
// alone by the PORTTRACK_MUTANT environment variable, see schemaText),
// since one link of the test binary per mutant would cost more CPU than
// every test run together. The first failing test kills the mutant. Then
// every test item of the run that has killed nothing gets its own chance to
// show it can fail (creditPass): it runs against the mutants it covers that
// it has not met yet, in mutant order, until one fails it (at most
// creditTries), so whether a test is credited does not depend on which
// test happened to run first in the parallel pass. A mutant that no
// claiming test covers survives without a run; one that does not compile
// is discarded; one whose test times out is killed.
//
// The kill matrix (Detail["matrix"]) records each mutant, its outcome and
// the tests that killed it. A feature passes when its kill rate, killed /
// (killed + survived) with mutants excused as equivalent left out, reaches
// Input.MinKillRate (DefaultMinKillRate). A test item of the run passes
// when it killed at least one mutant: that is what "can fail" means.
//
// Outcomes are cached by the tree hash, the mutant and the tests it ran
// against, so a rerun on unchanged code runs nothing.
type Mutation struct{}

func (Mutation) Name() string { return GateMutation }

func (in *Input) mutantTimeout() time.Duration {
	if in.MutantTimeout > 0 {
		return in.MutantTimeout
	}
	return 2 * time.Minute
}

func (in *Input) minKillRate() float64 {
	if in.MinKillRate > 0 {
		return in.MinKillRate
	}
	return DefaultMinKillRate
}

// DefaultMaxTestsPerMutant bounds the covering tests a mutant runs against
// before it counts as a survivor. Lines that every test runs (a node's
// start, the apply loop) are covered by dozens of tests of about the same
// speed, and the one that checks the line's effect was often not among
// the fastest 48 (here the fastest 80 take 1 s in all, the next 20 about
// 3 s); survivors are few, so their extra runs cost little.
const DefaultMaxTestsPerMutant = 100

// creditTries bounds the runs of a test that has killed nothing in the
// first pass against further mutants it covers.
const creditTries = 24

// mutantOutcome classifies one mutant.
type mutantOutcome string

const (
	mutantSurvived  mutantOutcome = "survived"
	mutantUncovered mutantOutcome = "survived (no claiming test covers it)"
	mutantKilled    mutantOutcome = "killed"
	mutantTimedOut  mutantOutcome = "killed (timeout)"
	mutantInvalid   mutantOutcome = "discarded (does not compile)"
)

// MatrixRow is one mutant of the kill matrix.
type MatrixRow struct {
	Key      string        `json:"mutant"`
	Line     int           `json:"line"`
	Outcome  mutantOutcome `json:"outcome"`
	KilledBy []string      `json:"killed_by,omitempty"`
	Ran      []string      `json:"ran,omitempty"`
	Excused  string        `json:"excused,omitempty"`
	Millis   int64         `json:"ms"`
	Cached   bool          `json:"cached,omitempty"`
}

type mutantJob struct {
	id      int // its switch in the schema, from 1
	pkg     string
	endLine int
	// fnFrom..fnTo are the lines of the mutated function: "missing return"
	// is reported at its closing brace, not at the dropped return.
	fnFrom, fnTo int
	it           Item
	m            mutant
	key          string
	src          []byte
	tests        []*testRun
	cacheID      string
	row          *MatrixRow
}

func (Mutation) Run(ctx context.Context, in *Input) ([]Result, error) {
	features := in.itemsOf(KindFeature)
	if in.Mutants <= 0 || len(features) == 0 && len(in.itemsOf(KindTest)) == 0 {
		return nil, nil
	}
	pt, err := in.measurePerTest(ctx)
	if err != nil {
		return nil, err
	}
	tree, err := treeHash(in.root())
	if err != nil {
		return nil, err
	}
	cache := loadMutantCache(in.cacheDir(), tree)
	tmp, err := os.MkdirTemp("", "porttrack-mutants-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	var jobs []*mutantJob
	perFeature := map[int][]*mutantJob{}
	problems := map[int]string{}
	mutated := append([]Item(nil), features...)
	for _, it := range in.MutationFeatures {
		if !slices.ContainsFunc(mutated, func(f Item) bool { return f.ID == it.ID }) {
			mutated = append(mutated, it)
		}
	}
	for _, it := range mutated {
		p, err := parseFile(in.abs(it.TargetFile), it.TargetFile)
		if err != nil {
			problems[it.ID] = "cannot parse target file: " + err.Error()
			continue
		}
		sym, _ := parseSymbol(it.TargetSymbol)
		fd, _ := findFunc(p.file, sym)
		if fd == nil {
			problems[it.ID] = fmt.Sprintf("target symbol %s not found", it.TargetSymbol)
			continue
		}
		claims := in.claims(pt, it.Batch)
		for _, m := range keyed(pickMutants(mutantsOf(p, fd), in.Mutants)) {
			pos := p.fset.Position(coveredAt(fd, p.fset.File(fd.Pos()).Pos(m.start)))
			j := &mutantJob{it: it, m: m.mutant, key: m.key, src: p.src, pkg: p.file.Name.Name,
				endLine: p.fset.Position(p.fset.File(fd.Pos()).Pos(m.end)).Line,
				fnFrom:  p.line(fd.Pos()), fnTo: p.line(fd.End()),
				tests: pt.covering(claims, it.TargetFile, pos.Line, pos.Column),
				row:   &MatrixRow{Key: m.key, Line: m.line}}
			var names []string
			for _, t := range j.tests {
				names = append(names, t.Ref.String())
			}
			j.cacheID = shortHash(strings.Join(append([]string{"mutant-v3", tree, it.TargetFile,
				fmt.Sprint(m.kind, m.start, m.end, m.to), fmt.Sprint("max-tests ", in.maxTestsPerMutant())}, names...), "\n"))
			jobs = append(jobs, j)
			perFeature[it.ID] = append(perFeature[it.ID], j)
		}
	}

	kills := map[string]int{} // test ref -> mutants killed
	hits := 0
	var todo []*mutantJob
	for i, j := range jobs {
		j.id = i + 1
		if c, ok := cache.get(j.cacheID); ok {
			*j.row = c
			j.row.Key, j.row.Line, j.row.Cached = j.key, j.m.line, true
			for _, k := range c.KilledBy {
				kills[k]++
			}
			hits++
			continue
		}
		if len(j.tests) == 0 {
			j.row.Outcome = mutantUncovered
			cache.put(j.cacheID, *j.row)
			continue
		}
		todo = append(todo, j)
	}
	in.progressf("mutation: %s of %s (%d from the cache), %d at a time", plural(len(jobs), "mutant"), plural(len(features), "feature"), hits, in.parallel())
	buildStart := time.Now()
	bins, err := buildSchema(ctx, in, todo, tmp)
	if err != nil {
		return nil, err
	}
	buildTime := time.Since(buildStart)
	var mu sync.Mutex
	var firstErr error
	var runTime time.Duration
	done := 0
	parallelDo(in.parallel(), len(todo), func(i int) {
		j := todo[i]
		if j.row.Outcome == mutantInvalid {
			mu.Lock()
			cache.put(j.cacheID, *j.row)
			mu.Unlock()
			return
		}
		t0 := time.Now()
		err := runMutantJob(ctx, in, j, bins, kills, &mu)
		mu.Lock()
		defer mu.Unlock()
		done++
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		j.row.Millis = time.Since(t0).Milliseconds()
		runTime += time.Since(t0)
		cache.put(j.cacheID, *j.row)
		in.progressf("mutation: %d/%d %s %d: %s: %s", done, len(todo), j.it.Kind, j.it.ID, j.key, j.row.Outcome)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	creditStart := time.Now()
	credited, err := creditPass(ctx, in, jobs, todo, bins, filepath.Join(tmp, "credit"), kills, &mu)
	if err != nil {
		return nil, err
	}
	for j := range credited {
		cache.put(j.cacheID, *j.row)
	}
	if len(credited) > 0 {
		in.progressf("mutation: tests that had killed nothing ran against %s, in %s", plural(len(credited), "further mutant"), time.Since(creditStart).Round(time.Second))
	}
	built := len(bins)
	cache.save()
	elapsed := time.Since(start)
	in.progressf("mutation: %s in %s wall (%d built, build %s, test runs %s, %d from the cache)",
		plural(len(jobs), "mutant"), elapsed.Round(time.Second), built, buildTime.Round(time.Second), runTime.Round(time.Second), hits)
	figures := map[string]any{"mutants": len(jobs), "wall_ms": elapsed.Milliseconds(), "built": built,
		"build_ms": buildTime.Milliseconds(), "run_ms": runTime.Milliseconds(), "cache_hits": hits, "parallel": in.parallel()}

	var res []Result
	for _, it := range features {
		if msg, ok := problems[it.ID]; ok {
			res = append(res, Result{Gate: GateMutation, Kind: KindFeature, ItemID: it.ID, Summary: msg,
				Findings: []Finding{{File: it.TargetFile, Message: msg}}})
			continue
		}
		res = append(res, featureVerdict(in, it, perFeature[it.ID], figures))
	}
	for _, it := range in.itemsOf(KindTest) {
		ref := testRefOf(it)
		r := Result{Gate: GateMutation, Kind: KindTest, ItemID: it.ID, Command: "mutation kill matrix"}
		var killed []string
		ranAgainst := 0
		for _, j := range jobs {
			if slices.Contains(j.row.KilledBy, ref.String()) {
				killed = append(killed, fmt.Sprintf("%s %d: %s", j.it.Kind, j.it.ID, j.key))
			}
			if slices.Contains(j.row.Ran, ref.String()) {
				ranAgainst++
			}
		}
		r.Passed = len(killed) > 0
		if r.Passed {
			r.Summary = fmt.Sprintf("killed %s (ran against %d)", plural(len(killed), "mutant"), ranAgainst)
		} else {
			r.Summary = fmt.Sprintf("killed no mutant (ran against %d): nothing shows it can fail", ranAgainst)
			r.Findings = []Finding{{File: it.TargetFile, Message: r.Summary}}
		}
		r.Detail = map[string]any{"killed": killed, "ran_against": ranAgainst}
		res = append(res, r)
	}
	return res, nil
}

func featureVerdict(in *Input, it Item, jobs []*mutantJob, figures map[string]any) Result {
	r := Result{Gate: GateMutation, Kind: KindFeature, ItemID: it.ID, Command: "mutation kill matrix"}
	var killed, survived, invalid, excused, timeouts int
	matrix := make([]MatrixRow, 0, len(jobs))
	var dur time.Duration
	for _, j := range jobs {
		row := *j.row
		dur += time.Duration(row.Millis) * time.Millisecond
		switch row.Outcome {
		case mutantKilled, mutantTimedOut:
			killed++
			if row.Outcome == mutantTimedOut {
				timeouts++
			}
		case mutantInvalid:
			invalid++
		default:
			if reason, ok := in.Excused[it.ID][j.key]; ok {
				row.Excused = reason
				excused++
				break
			}
			survived++
			r.Findings = append(r.Findings, Finding{File: it.TargetFile, Line: row.Line, Message: "mutant " + string(row.Outcome) + ": " + j.m.desc})
		}
		matrix = append(matrix, row)
	}
	r.Duration = dur
	valid := killed + survived
	if valid > 0 {
		r.KillRate = float64(killed) / float64(valid)
	}
	min := in.minKillRate()
	r.Passed = valid == 0 || r.KillRate >= min
	r.Detail = map[string]any{"mutants": valid, "killed": killed, "survived": survived, "discarded": invalid,
		"excused": excused, "timeouts": timeouts, "min_kill_rate": min, "matrix": matrix, "run": figures}
	switch {
	case len(jobs) == 0:
		r.Summary = "no mutation site in the body"
	case valid == 0:
		r.Summary = fmt.Sprintf("no mutant to judge (%d discarded, %d excused)", invalid, excused)
	default:
		r.Summary = fmt.Sprintf("%d/%d mutants killed (%.0f%%, minimum %.0f%%), %d discarded, %d excused", killed, valid, 100*r.KillRate, 100*min, invalid, excused)
		if survived > 0 {
			r.Summary += "; " + joinFindings(r.Findings, 2)
		}
	}
	return r
}

// buildSchema writes every mutant of the jobs into copies of their files
// (schemaText), adds the switch to each mutated package and builds one test
// binary per test package through -overlay. A mutant the compiler refuses
// (its line named in an error) is discarded and the build retried.
func buildSchema(ctx context.Context, in *Input, jobs []*mutantJob, tmp string) (map[string]string, error) {
	bins := map[string]string{}
	if len(jobs) == 0 {
		return bins, nil
	}
	for attempt := 0; attempt < 4; attempt++ {
		dir := filepath.Join(tmp, fmt.Sprintf("schema%d", attempt))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		replace := map[string]string{}
		byFile := map[string][]schemaMutant{}
		srcOf := map[string][]byte{}
		pkgOf := map[string]string{}
		for _, j := range jobs {
			if j.row.Outcome == mutantInvalid {
				continue
			}
			byFile[j.it.TargetFile] = append(byFile[j.it.TargetFile], schemaMutant{j.m, j.id})
			srcOf[j.it.TargetFile] = j.src
			pkgOf[j.it.TargetFile] = j.pkg
		}
		n := 0
		for file, ms := range byFile {
			n++
			copyPath := filepath.Join(dir, fmt.Sprintf("f%d", n), filepath.Base(file))
			if err := os.MkdirAll(filepath.Dir(copyPath), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(copyPath, []byte(schemaText(srcOf[file], ms, 0, len(srcOf[file]))), 0o644); err != nil {
				return nil, err
			}
			replace[in.abs(file)] = copyPath
			sw := filepath.Join(in.abs(filepath.Dir(file)), "zz_porttrack_mutant_switch.go")
			if _, ok := replace[sw]; !ok {
				swPath := filepath.Join(dir, fmt.Sprintf("switch%d.go", n))
				if err := os.WriteFile(swPath, []byte(schemaSwitch(pkgOf[file])), 0o644); err != nil {
					return nil, err
				}
				replace[sw] = swPath
			}
		}
		data, err := json.Marshal(map[string]map[string]string{"Replace": replace})
		if err != nil {
			return nil, err
		}
		overlay := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(overlay, data, 0o644); err != nil {
			return nil, err
		}
		modPath, err := modulePath(in.RepoDir)
		if err != nil {
			return nil, err
		}
		var mutatedPkgs []string
		for file := range byFile {
			if p := importPath(modPath, file); !slices.Contains(mutatedPkgs, p) {
				mutatedPkgs = append(mutatedPkgs, p)
			}
		}
		dirs := map[string]bool{}
		for _, j := range jobs {
			for _, t := range j.tests {
				dirs[t.Ref.Dir] = true
			}
		}
		failed := false
		for d := range dirs {
			bin := filepath.Join(dir, strings.ReplaceAll(d, "/", "_")+".test")
			in.progressf("mutation: building the mutant schema of %s for %s", plural(len(jobs), "mutant"), dirPattern(d))
			// -e: every compile error of the mutated packages at once, so one
			// retry discards every mutant the compiler refuses.
			args := []string{"test", "-c", "-vet=off", "-ldflags=-s -w", "-overlay=" + overlay, "-o", bin}
			for _, p := range mutatedPkgs {
				args = append(args, "-gcflags="+p+"=-e")
			}
			out, err := goCmd(ctx, in.RepoDir, in.commandTimeout(), append(args, dirPattern(d))...)
			if err != nil {
				return nil, err
			}
			if out.ExitCode == 0 {
				bins[d] = bin
				continue
			}
			failed = true
			if !discardRefused(jobs, out.Stderr) {
				return nil, fmt.Errorf("mutation: the mutant schema does not build and no mutant is to blame: %s", strings.Join(tail(out.Stderr, 5), " | "))
			}
			break
		}
		if !failed {
			return bins, nil
		}
	}
	return nil, fmt.Errorf("mutation: the mutant schema still does not build after discarding the mutants the compiler named")
}

// discardRefused marks invalid the mutants on the lines the compiler
// names, or, for an error on no mutant's line (a missing return is reported
// at the closing brace), every mutant of the function holding that line;
// false if it blames none.
func discardRefused(jobs []*mutantJob, stderr []byte) bool {
	any := false
	for _, f := range compilerFindings(stderr) {
		same := func(j *mutantJob) bool { return filepath.Base(f.File) == filepath.Base(j.it.TargetFile) }
		hit := false
		for _, j := range jobs {
			if same(j) && f.Line >= j.m.line && f.Line <= j.endLine {
				hit = true
				if j.row.Outcome != mutantInvalid {
					j.row.Outcome = mutantInvalid
					any = true
				}
			}
		}
		if hit {
			continue
		}
		for _, j := range jobs {
			if same(j) && f.Line >= j.fnFrom && f.Line <= j.fnTo && j.row.Outcome != mutantInvalid && (j.m.kind == "drop" || !strings.Contains(f.Message, "missing return")) {
				j.row.Outcome = mutantInvalid
				any = true
			}
		}
	}
	return any
}

// runMutantJob runs the mutant's tests with it switched on and fills j.row.
func runMutantJob(ctx context.Context, in *Input, j *mutantJob, bins map[string]string, kills map[string]int, mu *sync.Mutex) error {
	j.row.Outcome = mutantSurvived
	deadline := time.Now().Add(in.mutantTimeout())
	for n, t := range j.tests {
		if j.row.Outcome != mutantSurvived || n >= in.maxTestsPerMutant() || time.Now().After(deadline) {
			break
		}
		failed, timedOut, err := runMutantTest(ctx, in, j, t, bins)
		if err != nil {
			return err
		}
		mu.Lock()
		recordMutantRun(j, t, failed, timedOut, kills)
		mu.Unlock()
	}
	return nil
}

// coveredAt is the position whose coverage tells which tests ran the
// mutant at pos: the start of the innermost statement holding it. Coverage
// blocks hold statements, and parts of a statement's header lie in none:
// an if's condition after a function literal in its init (the literal's
// body is a block of its own and the header's rest follows it), or the
// expressions of a case clause (its block starts after the colon, so such
// a mutant is judged by the tests that reached its switch). A test that
// reached the statement evaluated its header.
func coveredAt(fd *ast.FuncDecl, pos token.Pos) token.Pos {
	at := pos
	var stack []ast.Node
	ast.Inspect(fd, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if pos < n.Pos() || pos >= n.End() {
			return false
		}
		switch st := n.(type) {
		case *ast.BlockStmt, *ast.FuncLit:
		case *ast.CaseClause, *ast.CommClause:
			if colon := clauseColon(st); pos < colon {
				for i := len(stack) - 1; i >= 0; i-- {
					switch sw := stack[i].(type) {
					case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
						at = sw.Pos()
						return false
					}
				}
			}
		case ast.Stmt:
			at = st.Pos()
		}
		stack = append(stack, n)
		return true
	})
	return at
}

func clauseColon(n ast.Node) token.Pos {
	if cc, ok := n.(*ast.CaseClause); ok {
		return cc.Colon
	}
	return n.(*ast.CommClause).Colon
}

func built(need, inSchema map[*mutantJob]bool) bool {
	for j := range need {
		if !inSchema[j] {
			return false
		}
	}
	return true
}

// runMutantTest runs one test with the mutant of j switched on.
func runMutantTest(ctx context.Context, in *Input, j *mutantJob, t *testRun, bins map[string]string) (failed, timedOut bool, err error) {
	env := []string{fmt.Sprintf("PORTTRACK_MUTANT=%d", j.id)}
	timeout := min(2*t.Duration+5*time.Second, in.mutantTimeout())
	out, err := runProgram(ctx, bins[t.Ref.Dir], in.abs(t.Ref.Dir), timeout+5*time.Second, env,
		"-test.run=^"+regexp.QuoteMeta(t.Ref.Name)+"$", "-test.count=1", "-test.failfast", "-test.timeout="+timeout.String())
	if err != nil {
		return false, false, err
	}
	if out.ExitCode == 0 {
		return false, false, nil
	}
	return true, out.TimedOut || strings.Contains(string(out.Stdout)+string(out.Stderr), "panic: test timed out after"), nil
}

// recordMutantRun enters one run of t against j's mutant in the matrix; the
// caller holds the lock of kills and the rows.
func recordMutantRun(j *mutantJob, t *testRun, failed, timedOut bool, kills map[string]int) {
	ref := t.Ref.String()
	j.row.Ran = append(j.row.Ran, ref)
	if !failed {
		return
	}
	if j.row.Outcome == mutantSurvived {
		j.row.Outcome = mutantKilled
		if timedOut {
			j.row.Outcome = mutantTimedOut
		}
	}
	j.row.KilledBy = append(j.row.KilledBy, ref)
	kills[ref]++
}

// creditPass gives every test item of the run that has killed nothing its
// own runs: against the mutants whose covering tests include it and that it
// has not run against, in mutant order, until one fails it or creditTries
// runs are spent. A run that fails the test of a surviving mutant kills it.
// The tests run in parallel; each one's runs are sequential. It returns the
// jobs whose rows changed.
func creditPass(ctx context.Context, in *Input, jobs, schemaJobs []*mutantJob, bins map[string]string, tmp string, kills map[string]int, mu *sync.Mutex) (map[*mutantJob]bool, error) {
	inSchema := map[*mutantJob]bool{}
	for _, j := range schemaJobs {
		inSchema[j] = true
	}
	var idle []string
	for _, it := range in.itemsOf(KindTest) {
		if ref := testRefOf(it).String(); kills[ref] == 0 && !slices.Contains(idle, ref) {
			idle = append(idle, ref)
		}
	}
	slices.Sort(idle)
	changed := map[*mutantJob]bool{}
	if len(idle) == 0 {
		return changed, nil
	}
	// Each idle test's candidates, fixed before any run so that the order
	// of the parallel runs cannot change them.
	type try struct {
		j *mutantJob
		t *testRun
	}
	plan := make([][]try, len(idle))
	need := map[*mutantJob]bool{}
	for i, ref := range idle {
		for _, j := range jobs {
			if len(plan[i]) >= creditTries {
				break
			}
			if j.row.Outcome == mutantInvalid || j.row.Outcome == mutantUncovered || slices.Contains(j.row.Ran, ref) {
				continue
			}
			if idx := slices.IndexFunc(j.tests, func(t *testRun) bool { return t.Ref.String() == ref }); idx >= 0 {
				plan[i] = append(plan[i], try{j, j.tests[idx]})
				need[j] = true
			}
		}
	}
	if !built(need, inSchema) {
		// Mutants from the cache are not in the schema of this run; build
		// one holding them too.
		all := slices.Clone(schemaJobs)
		for j := range need {
			if !inSchema[j] {
				all = append(all, j)
			}
		}
		slices.SortFunc(all, func(a, b *mutantJob) int { return a.id - b.id })
		var err error
		if bins, err = buildSchema(ctx, in, all, tmp); err != nil {
			return changed, err
		}
	}
	var firstErr error
	parallelDo(in.parallel(), len(idle), func(i int) {
		for _, c := range plan[i] {
			j := c.j
			if j.row.Outcome == mutantInvalid {
				continue
			}
			failed, timedOut, err := runMutantTest(ctx, in, j, c.t, bins)
			mu.Lock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			recordMutantRun(j, c.t, failed, timedOut, kills)
			changed[j] = true
			mu.Unlock()
			if failed {
				return
			}
		}
	})
	return changed, firstErr
}

func (in *Input) maxTestsPerMutant() int {
	if in.MaxTestsPerMutant > 0 {
		return in.MaxTestsPerMutant
	}
	return DefaultMaxTestsPerMutant
}

// keyedMutant is a mutant with its stable key: kind and description, and an
// ordinal when the same description occurs twice in the body.
type keyedMutant struct {
	mutant
	key string
}

func keyed(ms []mutant) []keyedMutant {
	seen := map[string]int{}
	out := make([]keyedMutant, 0, len(ms))
	for _, m := range ms {
		k := m.kind + ": " + m.desc
		seen[k]++
		if n := seen[k]; n > 1 {
			k += fmt.Sprintf(" (#%d)", n)
		}
		out = append(out, keyedMutant{m, k})
	}
	return out
}

// MutantKeys lists the keys of the mutants the gate would try on a
// function, for recording an equivalent mutant's excuse.
func MutantKeys(repoDir, file, symbol string, n int) ([]string, error) {
	in := &Input{RepoDir: repoDir}
	p, err := parseFile(in.abs(file), file)
	if err != nil {
		return nil, err
	}
	sym, err := parseSymbol(symbol)
	if err != nil {
		return nil, err
	}
	fd, _ := findFunc(p.file, sym)
	if fd == nil {
		return nil, fmt.Errorf("target symbol %s not found in %s", symbol, file)
	}
	var keys []string
	for _, m := range keyed(pickMutants(mutantsOf(p, fd), n)) {
		keys = append(keys, m.key)
	}
	return keys, nil
}

// mutantCache is the stored outcomes of one tree state's mutants.
type mutantCache struct {
	path    string
	rows    map[string]MatrixRow
	changed bool
}

func loadMutantCache(dir, tree string) *mutantCache {
	c := &mutantCache{path: filepath.Join(dir, "mutants-"+tree[:24]+".json"), rows: map[string]MatrixRow{}}
	if data, err := os.ReadFile(c.path); err == nil {
		json.Unmarshal(data, &c.rows)
	}
	return c
}

func (c *mutantCache) get(id string) (MatrixRow, bool) {
	r, ok := c.rows[id]
	return r, ok
}

func (c *mutantCache) put(id string, r MatrixRow) {
	r.Cached = false
	c.rows[id] = r
	c.changed = true
}

func (c *mutantCache) save() {
	if !c.changed {
		return
	}
	data, err := json.Marshal(c.rows)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(c.path), 0o755) == nil {
		os.WriteFile(c.path, data, 0o644)
	}
}

// writeOverlay writes the mutated source under dir, with the original's
// base name (build constraints and _test suffixes depend on it), and the
// overlay file that substitutes it for the original.
func writeOverlay(dir, original string, src []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	mutated := filepath.Join(dir, filepath.Base(original))
	if err := os.WriteFile(mutated, src, 0o644); err != nil {
		return "", err
	}
	data, err := json.Marshal(map[string]map[string]string{"Replace": {original: mutated}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, data, 0o644)
}

// dirPattern is the go command pattern of a repo-relative package directory.
func dirPattern(dir string) string {
	if dir == "." {
		return "."
	}
	return "./" + dir
}
