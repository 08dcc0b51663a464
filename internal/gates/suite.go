package gates

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Suite is the checkpoint's test gate: the whole suite of the test packages
// under the race detector, judged as one. Every test that fails is a
// finding; skipped tests are listed in Detail["skipped"] (the static scan is
// the gate that refuses them). Like Build, its one outcome is repeated for
// every item, or given once with ItemID 0.
type Suite struct{}

func (Suite) Name() string { return GateSuite }

func (Suite) Run(ctx context.Context, in *Input) ([]Result, error) {
	pkgs := in.testPackages()
	if len(pkgs) == 0 {
		return nil, errNoTestPackages
	}
	args := append([]string{"test", "-race", "-json", "-count=1", "-timeout=" + in.commandTimeout().String()}, pkgs...)
	in.progressf("suite: running the tests of %s", strings.Join(pkgs, " "))
	out, err := goCmdEnv(ctx, in.RepoDir, in.commandTimeout()+time.Minute, []string{"CGO_ENABLED=1"}, args...)
	if err != nil {
		return nil, err
	}
	outcomes, pkgOutput := parseTestEvents(out.Stdout)
	r := Result{Gate: GateSuite, Command: out.Command, ExitCode: out.ExitCode, Duration: out.Duration}
	var keys []string
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var passed, skipped []string
	for _, k := range keys {
		pkg, name, _ := strings.Cut(k, "\x00")
		switch outcomes[k].action {
		case "pass":
			passed = append(passed, name)
		case "skip":
			skipped = append(skipped, pkg+"."+name)
		default:
			msg := fmt.Sprintf("%s.%s failed", pkg, name)
			if fs := outputFindings(outcomes[k].output, ""); len(fs) > 0 {
				msg += ": " + fs[0].String()
			}
			r.Findings = append(r.Findings, Finding{Message: msg})
		}
	}
	// A package that failed without a failing test did not build or died
	// outside any test.
	if out.ExitCode != 0 && len(r.Findings) == 0 {
		for _, l := range tail([]byte(strings.Join(flatten(pkgOutput), "")+string(out.Stderr)), 5) {
			r.Findings = append(r.Findings, Finding{Message: l})
		}
	}
	r.Passed = out.ExitCode == 0 && len(r.Findings) == 0
	r.Detail = map[string]any{"passed": len(passed), "failed": len(r.Findings), "skipped": skipped}
	switch {
	case out.TimedOut:
		r.Summary = fmt.Sprintf("the suite timed out after %s", in.commandTimeout())
	case r.Passed:
		r.Summary = fmt.Sprintf("%s passed, %d skipped", plural(len(passed), "test"), len(skipped))
	default:
		r.Summary = fmt.Sprintf("suite failed (exit %d): %s", out.ExitCode, joinFindings(r.Findings, 3))
	}
	return perItem(in, r), nil
}

// flatten joins per-package output in package order.
func flatten(m map[string][]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, m[k]...)
	}
	return out
}
