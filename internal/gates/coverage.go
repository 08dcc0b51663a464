package gates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/tools/cover"
)

// Coverage runs the whole suite of the test packages once with -coverpkg on
// the target packages; that run must pass. A feature then passes only if its
// target function has at least one covered statement. The whole suite counts
// (not just the batch's mapped tests): earlier batches' and end-to-end tests
// legitimately reach a feature too.
type Coverage struct{}

func (Coverage) Name() string { return GateCoverage }

func (Coverage) Run(ctx context.Context, in *Input) ([]Result, error) {
	features := in.itemsOf(KindFeature)
	if len(features) == 0 {
		return nil, nil
	}
	if len(in.testPackages()) == 0 {
		return nil, errNoTestPackages
	}
	modPath, err := modulePath(in.RepoDir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "porttrack-cover-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	profilePath := filepath.Join(tmp, "cover.out")
	args := []string{"test", "-count=1", "-timeout=" + in.commandTimeout().String(),
		"-coverpkg=" + strings.Join(in.targetPackages(), ","), "-coverprofile=" + profilePath}
	args = append(args, in.testPackages()...)
	in.progressf("coverage: running the test suite of %s", strings.Join(in.testPackages(), " "))
	// The go command gets a minute more than the test binary, so that a hung
	// test is reported by the binary's own timeout panic, which names it.
	out, err := goCmd(ctx, in.RepoDir, in.commandTimeout()+time.Minute, args...)
	if err != nil {
		return nil, err
	}
	base := Result{Gate: GateCoverage, Kind: KindFeature, Command: out.Command, ExitCode: out.ExitCode, Duration: out.Duration}
	if out.ExitCode != 0 {
		output := append(out.Stdout, out.Stderr...)
		if hung := hungTests(output); out.TimedOut || len(hung) > 0 {
			base.Summary = fmt.Sprintf("the test suite run timed out after %s; coverage needs a passing run", in.commandTimeout())
			for _, l := range hung {
				base.Findings = append(base.Findings, Finding{Message: "still running: " + l})
			}
			return forFeatures(features, base), nil
		}
		base.Summary = fmt.Sprintf("the test suite run failed (exit %d); coverage needs a passing run", out.ExitCode)
		for _, l := range failureLines(output, 8) {
			base.Findings = append(base.Findings, Finding{Message: l})
		}
		return forFeatures(features, base), nil
	}
	profiles, err := cover.ParseProfiles(profilePath)
	if err != nil {
		return nil, fmt.Errorf("coverage profile: %w", err)
	}
	byFile := map[string]*cover.Profile{}
	for _, p := range profiles {
		byFile[strings.TrimPrefix(p.FileName, modPath+"/")] = p
	}

	res := make([]Result, 0, len(features))
	for _, it := range features {
		r := base
		r.ItemID = it.ID
		covered, total, f := funcCoverage(in, it, byFile[it.TargetFile])
		switch {
		case f != nil:
			r.Findings = []Finding{*f}
			r.Summary = f.Message
		case covered == 0:
			r.Summary = fmt.Sprintf("%s: none of %s covered", it.TargetSymbol, plural(total, "statement"))
			r.Findings = []Finding{{File: it.TargetFile, Message: r.Summary}}
		default:
			r.Passed = true
			r.Summary = fmt.Sprintf("%s: %d/%d statements covered", it.TargetSymbol, covered, total)
		}
		if total > 0 {
			r.Coverage = float64(covered) / float64(total)
		}
		r.Detail = map[string]any{"covered_statements": covered, "statements": total}
		res = append(res, r)
	}
	return res, nil
}

// errNoTestPackages refuses a coverage or mutation run that would otherwise
// test whatever package sits at the repo root.
var errNoTestPackages = errors.New("no test packages: set Input.TestPackages or include test items")

// funcCoverage counts the statements of the feature's target function and
// how many of them ran. A non-nil finding means it could not be measured.
func funcCoverage(in *Input, it Item, prof *cover.Profile) (covered, total int, problem *Finding) {
	p, err := parseFile(in.abs(it.TargetFile), it.TargetFile)
	if err != nil {
		return 0, 0, &Finding{File: it.TargetFile, Message: "cannot parse target file: " + err.Error()}
	}
	sym, _ := parseSymbol(it.TargetSymbol)
	fd, _ := findFunc(p.file, sym)
	if fd == nil || fd.Body == nil {
		return 0, 0, &Finding{File: it.TargetFile, Message: fmt.Sprintf("target symbol %s not found", it.TargetSymbol)}
	}
	if prof == nil {
		return 0, 0, &Finding{File: it.TargetFile, Line: p.line(fd.Pos()),
			Message: fmt.Sprintf("%s is not in the coverage profile: no test of %s loads it, or its package is not a target package",
				it.TargetSymbol, strings.Join(in.testPackages(), " "))}
	}
	from, to := p.fset.Position(fd.Body.Lbrace), p.fset.Position(fd.Body.Rbrace)
	for _, b := range prof.Blocks {
		if before(b.StartLine, b.StartCol, from.Line, from.Column) || before(to.Line, to.Column+1, b.EndLine, b.EndCol) {
			continue
		}
		total += b.NumStmt
		if b.Count > 0 {
			covered += b.NumStmt
		}
	}
	return covered, total, nil
}

// before reports whether (l1, c1) comes strictly before (l2, c2).
func before(l1, c1, l2, c2 int) bool {
	return l1 < l2 || l1 == l2 && c1 < c2
}

func forFeatures(features []Item, r Result) []Result {
	out := make([]Result, len(features))
	for i, it := range features {
		out[i] = r
		out[i].ItemID = it.ID
	}
	return out
}
