package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Mutation is the opt-in gate that tests the tests: for each feature it
// applies up to Input.Mutants small changes to the body (see mutants.go),
// one at a time, through the go command's -overlay (the repo is never
// written), and reruns the test packages. A mutant that still passes has
// survived; one that does not compile is discarded; one whose run times out
// counts as killed (the tests did not pass). A feature passes when no mutant
// survives, or its kill rate reaches Input.MinKillRate when that is set; its
// kill rate is killed / (killed + survived), and is 0 with
// Detail["mutants"] == 0 when the body offers no valid mutant.
type Mutation struct{}

func (Mutation) Name() string { return GateMutation }

func (in *Input) mutantTimeout() time.Duration {
	if in.MutantTimeout > 0 {
		return in.MutantTimeout
	}
	return 2 * time.Minute
}

// mutantOutcome classifies one run of the test packages.
type mutantOutcome int

const (
	mutantSurvived mutantOutcome = iota
	mutantKilled
	mutantTimedOut
	mutantInvalid
)

func (Mutation) Run(ctx context.Context, in *Input) ([]Result, error) {
	features := in.itemsOf(KindFeature)
	if in.Mutants <= 0 || len(features) == 0 {
		return nil, nil
	}
	if len(in.testPackages()) == 0 {
		return nil, errNoTestPackages
	}
	tmp, err := os.MkdirTemp("", "porttrack-mutants-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// Without a passing baseline every mutant would look killed.
	in.progressf("mutation: baseline run of %s", strings.Join(in.testPackages(), " "))
	base, cmd, err := runMutant(ctx, in, "")
	if err != nil {
		return nil, err
	}
	if base != mutantSurvived {
		r := Result{Gate: GateMutation, Kind: KindFeature, Command: cmd,
			Summary: "the unmutated test run does not pass; mutants cannot be judged"}
		return forFeatures(features, r), nil
	}

	res := make([]Result, 0, len(features))
	for _, it := range features {
		r, err := mutateFeature(ctx, in, it, tmp)
		if err != nil {
			return nil, err
		}
		res = append(res, r)
	}
	return res, nil
}

func mutateFeature(ctx context.Context, in *Input, it Item, tmp string) (Result, error) {
	r := Result{Gate: GateMutation, Kind: KindFeature, ItemID: it.ID}
	p, err := parseFile(in.abs(it.TargetFile), it.TargetFile)
	if err != nil {
		r.Summary = "cannot parse target file: " + err.Error()
		return r, nil
	}
	sym, _ := parseSymbol(it.TargetSymbol)
	fd, _ := findFunc(p.file, sym)
	if fd == nil {
		r.Summary = fmt.Sprintf("target symbol %s not found", it.TargetSymbol)
		return r, nil
	}
	start := time.Now()
	var killed, survived, invalid, timeouts int
	var cmd string
	ms := pickMutants(mutantsOf(p, fd), in.Mutants)
	for i, m := range ms {
		dir := filepath.Join(tmp, fmt.Sprintf("f%d-m%d", it.ID, i))
		overlay, err := writeOverlay(dir, in.abs(it.TargetFile), m.apply(p.src))
		if err != nil {
			return r, err
		}
		outcome, c, err := runMutant(ctx, in, overlay)
		if err != nil {
			return r, err
		}
		cmd = c
		verdict := map[mutantOutcome]string{mutantSurvived: "survived", mutantKilled: "killed",
			mutantTimedOut: "killed (timeout)", mutantInvalid: "does not compile, discarded"}[outcome]
		in.progressf("mutation: %s %d mutant %d/%d %s: %s", it.Kind, it.ID, i+1, len(ms), m.desc, verdict)
		switch outcome {
		case mutantSurvived:
			survived++
			r.Findings = append(r.Findings, Finding{File: it.TargetFile, Line: m.line, Message: "mutant survived: " + m.desc})
		case mutantKilled:
			killed++
		case mutantTimedOut:
			killed++
			timeouts++
		case mutantInvalid:
			invalid++
		}
	}
	r.Command, r.Duration = cmd, time.Since(start)
	valid := killed + survived
	if valid > 0 {
		r.KillRate = float64(killed) / float64(valid)
	}
	r.Passed = mutationPassed(survived, r.KillRate, in.MinKillRate)
	r.Detail = map[string]any{"mutants": valid, "killed": killed, "survived": survived, "discarded": invalid, "timeouts": timeouts}
	switch {
	case len(ms) == 0:
		r.Summary = "no mutation site in the body"
	case valid == 0:
		r.Summary = fmt.Sprintf("all %s discarded (do not compile)", plural(len(ms), "mutant"))
	default:
		r.Summary = fmt.Sprintf("%d/%d mutants killed (%.0f%%), %d discarded", killed, valid, 100*r.KillRate, invalid)
		if survived > 0 {
			r.Summary += "; " + joinFindings(r.Findings, 2)
		}
	}
	return r, nil
}

// mutationPassed applies the pass rule: no survivor, or a kill rate at the
// caller's threshold when one is set.
func mutationPassed(survived int, killRate, minKillRate float64) bool {
	return survived == 0 || minKillRate > 0 && killRate >= minKillRate
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

// runMutant runs the test packages, with the overlay when one is given.
// Vet is off: a mutant that upsets vet but compiles is still a mutant.
func runMutant(ctx context.Context, in *Input, overlay string) (mutantOutcome, string, error) {
	args := []string{"test", "-json", "-count=1", "-vet=off", "-timeout=" + in.mutantTimeout().String()}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	if in.MutationRun != "" {
		args = append(args, "-run="+in.MutationRun)
	}
	args = append(args, in.testPackages()...)
	out, err := goCmd(ctx, in.RepoDir, in.mutantTimeout()+30*time.Second, args...)
	if err != nil {
		return mutantKilled, out.Command, err
	}
	switch {
	case out.TimedOut || bytes.Contains(out.Stdout, []byte("panic: test timed out after")):
		return mutantTimedOut, out.Command, nil
	case out.ExitCode == 0:
		return mutantSurvived, out.Command, nil
	case buildFailed(out.Stdout):
		return mutantInvalid, out.Command, nil
	}
	return mutantKilled, out.Command, nil
}

// buildFailed reports whether the test2json stream shows a package that did
// not compile.
func buildFailed(stdout []byte) bool {
	for _, l := range strings.Split(string(stdout), "\n") {
		var ev struct {
			Action      string
			FailedBuild string
		}
		if json.Unmarshal([]byte(l), &ev) == nil && (ev.Action == "build-fail" || ev.FailedBuild != "") {
			return true
		}
	}
	return false
}
