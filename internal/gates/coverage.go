package gates

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Coverage counts, for each feature, the statements of its target function
// that the tests claiming it ran, each test run alone (see pertest.go): the
// mapped tests of the feature's batch and of the batches it depends on
// (Input.ClaimTests), and the end-to-end tests. A test nobody mapped does
// not count, and neither does a claiming test that failed. A feature passes
// when the covered fraction reaches Input.MinCoverage (DefaultMinCoverage);
// the fraction and the minimum are stored with the result.
type Coverage struct{}

func (Coverage) Name() string { return GateCoverage }

func (in *Input) minCoverage() float64 {
	if in.MinCoverage > 0 {
		return in.MinCoverage
	}
	return DefaultMinCoverage
}

func (Coverage) Run(ctx context.Context, in *Input) ([]Result, error) {
	features := in.itemsOf(KindFeature)
	if len(features) == 0 {
		return nil, nil
	}
	pt, err := in.measurePerTest(ctx)
	if err != nil {
		return nil, err
	}
	res := make([]Result, 0, len(features))
	min := in.minCoverage()
	for _, it := range features {
		r := Result{Gate: GateCoverage, Kind: KindFeature, ItemID: it.ID,
			Command: "per-test coverage of " + strings.Join(in.testPackages(), " "), Duration: pt.RunTime}
		claims := in.claims(pt, it.Batch)
		var failed []string
		for _, c := range claims {
			if run := pt.Runs[c.String()]; run != nil && !run.Passed {
				failed = append(failed, c.Name)
			}
		}
		covered, total, by, f := featureCoverage(in, pt, claims, it)
		switch {
		case f != nil:
			r.Findings = []Finding{*f}
			r.Summary = f.Message
		case total == 0:
			r.Summary = fmt.Sprintf("%s: no statement in the coverage profile", it.TargetSymbol)
			r.Findings = []Finding{{File: it.TargetFile, Message: r.Summary}}
		default:
			r.Coverage = float64(covered) / float64(total)
			r.Passed = r.Coverage >= min
			r.Summary = fmt.Sprintf("%s: %d/%d statements (%.0f%%) run by %s claiming it; minimum %.0f%%",
				it.TargetSymbol, covered, total, 100*r.Coverage, plural(len(by), "test"), 100*min)
			if !r.Passed {
				r.Findings = []Finding{{File: it.TargetFile, Message: r.Summary}}
			}
		}
		if len(failed) > 0 {
			r.Findings = append(r.Findings, Finding{Message: "claiming tests that failed, not counted: " + strings.Join(failed, ", ")})
		}
		r.Detail = map[string]any{"covered_statements": covered, "statements": total, "min_coverage": min,
			"covering_tests": by, "claiming_tests": len(claims)}
		res = append(res, r)
	}
	return res, nil
}

// featureCoverage locates the target's body and counts its coverage.
func featureCoverage(in *Input, pt *perTest, claims []TestRef, it Item) (covered, total int, by []string, problem *Finding) {
	p, err := parseFile(in.abs(it.TargetFile), it.TargetFile)
	if err != nil {
		return 0, 0, nil, &Finding{File: it.TargetFile, Message: "cannot parse target file: " + err.Error()}
	}
	sym, _ := parseSymbol(it.TargetSymbol)
	fd, _ := findFunc(p.file, sym)
	if fd == nil || fd.Body == nil {
		return 0, 0, nil, &Finding{File: it.TargetFile, Message: fmt.Sprintf("target symbol %s not found", it.TargetSymbol)}
	}
	if _, ok := pt.Blocks[it.TargetFile]; !ok {
		return 0, 0, nil, &Finding{File: it.TargetFile, Line: p.line(fd.Pos()),
			Message: fmt.Sprintf("%s is not in the coverage profile: no claiming test of %s loads it, or its package is not a target package",
				it.TargetSymbol, strings.Join(in.testPackages(), " "))}
	}
	from, to := p.fset.Position(fd.Body.Lbrace), p.fset.Position(fd.Body.Rbrace)
	covered, total, by = pt.funcCoverage(claims, it.TargetFile, [2]int{from.Line, from.Column}, [2]int{to.Line, to.Column})
	return covered, total, by, nil
}

// errNoTestPackages refuses a coverage or mutation run that would otherwise
// test whatever package sits at the repo root.
var errNoTestPackages = errors.New("no test packages: set Input.TestPackages or include test items")

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
