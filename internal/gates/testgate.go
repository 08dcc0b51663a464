package gates

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Test runs exactly the mapped tests under the race detector and judges
// each one from the test2json stream: it passes only if it ran and passed.
// A skip is a failure, and so is a mapped test that never ran.
type Test struct{}

func (Test) Name() string { return GateTest }

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action      string
	Package     string
	ImportPath  string // build-output events name the package being built here
	FailedBuild string // a package's fail event names the dependency that did not build
	Test        string
	Elapsed     float64
	Output      string
}

// testOutcome is what the stream says about one top-level test.
type testOutcome struct {
	action  string // pass, fail or skip; empty if it never finished
	elapsed time.Duration
	output  []string
}

func (Test) Run(ctx context.Context, in *Input) ([]Result, error) {
	tests := in.itemsOf(KindTest)
	if len(tests) == 0 {
		return nil, nil
	}
	modPath, err := modulePath(in.RepoDir)
	if err != nil {
		return nil, err
	}
	args := []string{"test", "-race", "-json", "-count=1",
		"-timeout=" + in.commandTimeout().String(),
		"-run=" + RunPattern(tests)}
	args = append(args, in.testPackages()...)
	in.progressf("test: running %s", plural(len(tests), "test"))
	// The race detector needs cgo, which an inherited CGO_ENABLED=0 would
	// turn off.
	out, err := goCmdEnv(ctx, in.RepoDir, in.commandTimeout()+time.Minute, []string{"CGO_ENABLED=1"}, args...)
	if err != nil {
		return nil, err
	}
	outcomes, pkgOutput := parseTestEvents(out.Stdout)

	res := make([]Result, 0, len(tests))
	for _, it := range tests {
		sym, _ := parseSymbol(it.TargetSymbol)
		pkg := importPath(modPath, it.TargetFile)
		o := outcomes[pkg+"\x00"+sym.Name]
		r := Result{Gate: GateTest, Kind: KindTest, ItemID: it.ID, Command: out.Command, ExitCode: out.ExitCode}
		if o != nil {
			r.Duration = o.elapsed
			r.Findings = outputFindings(o.output, path.Dir(it.TargetFile))
		}
		r.Detail = map[string]any{"outcome": "missing"}
		if o != nil && o.action != "" {
			r.Detail["outcome"] = o.action
		}
		switch {
		case o != nil && o.action == "pass":
			r.Passed = true
			r.Summary = fmt.Sprintf("passed in %s", o.elapsed)
		case o != nil && o.action == "skip":
			r.Summary = "skipped: " + strings.Join(skipReason(o.output), " ")
		case o != nil && o.action == "fail":
			r.Summary = "failed"
			if len(r.Findings) > 0 {
				r.Summary += ": " + joinFindings(r.Findings, 2)
			}
		case out.TimedOut:
			r.Summary = "did not finish: the test run timed out"
		default:
			r.Summary = fmt.Sprintf("never ran in package %s", pkg)
			lines := tail([]byte(strings.Join(pkgOutput[pkg], "")), 5)
			if len(lines) == 0 {
				lines = tail(out.Stderr, 5)
			}
			for _, l := range lines {
				r.Findings = append(r.Findings, Finding{Message: l})
			}
			if len(lines) > 0 {
				r.Summary += ": " + strings.Join(lines, " | ")
			}
		}
		res = append(res, r)
	}
	return res, nil
}

// RunPattern is the -run expression that selects exactly the test items'
// functions (top level, subtests included), in item order.
func RunPattern(items []Item) string {
	var names []string
	seen := map[string]bool{}
	for _, it := range items {
		sym, err := parseSymbol(it.TargetSymbol)
		if it.Kind != KindTest || err != nil || seen[sym.Name] {
			continue
		}
		seen[sym.Name] = true
		names = append(names, regexp.QuoteMeta(sym.Name))
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// parseTestEvents indexes the top-level tests' outcomes by package and
// name, and gathers package-level output (build failures, panics).
func parseTestEvents(stdout []byte) (map[string]*testOutcome, map[string][]string) {
	outcomes := map[string]*testOutcome{}
	pkgOutput := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Action == "build-output" {
			// "p [p.test]" is the test variant of package p.
			pkg, _, _ := strings.Cut(ev.ImportPath, " ")
			pkgOutput[pkg] = append(pkgOutput[pkg], ev.Output)
			continue
		}
		if ev.Test == "" {
			switch {
			case ev.Action == "output":
				pkgOutput[ev.Package] = append(pkgOutput[ev.Package], ev.Output)
			case ev.FailedBuild != "" && ev.FailedBuild != ev.Package:
				pkgOutput[ev.Package] = append(pkgOutput[ev.Package], pkgOutput[ev.FailedBuild]...)
			}
			continue
		}
		top, _, _ := strings.Cut(ev.Test, "/")
		k := ev.Package + "\x00" + top
		o := outcomes[k]
		if o == nil {
			o = &testOutcome{}
			outcomes[k] = o
		}
		switch ev.Action {
		case "output":
			o.output = append(o.output, ev.Output)
		case "pass", "fail", "skip":
			if ev.Test == top {
				o.action = ev.Action
				o.elapsed = time.Duration(ev.Elapsed * float64(time.Second))
			}
		}
	}
	return outcomes, pkgOutput
}

// testLineRE matches the "    file_test.go:12: message" lines of t.Error
// and friends.
var testLineRE = regexp.MustCompile(`^\s+([\w.-]+\.go):(\d+): (.*)$`)

func outputFindings(output []string, dir string) []Finding {
	var out []Finding
	for _, l := range output {
		m := testLineRE.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		out = append(out, Finding{File: path.Join(dir, m[1]), Line: line, Message: m[3]})
	}
	return out
}

func skipReason(output []string) []string {
	var out []string
	for _, l := range output {
		if m := testLineRE.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			out = append(out, m[1]+":"+m[2]+": "+m[3])
		}
	}
	if len(out) == 0 {
		out = append(out, "no reason given")
	}
	return out
}

// modulePath reads the module path from RepoDir/go.mod.
func modulePath(repoDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(repoDir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read module path: %w", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("read module path: no module line in %s", filepath.Join(repoDir, "go.mod"))
}

// importPath is the import path of the package holding a repo-relative file.
func importPath(modPath, file string) string {
	dir := path.Dir(file)
	if dir == "." {
		return modPath
	}
	return modPath + "/" + dir
}
