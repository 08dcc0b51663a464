package gates

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Build runs `go build ./...` in the repo, then `go vet` on the target
// packages. Both must exit 0. Its one outcome is repeated for every item
// (or given once, with ItemID 0, when there are no items).
type Build struct{}

func (Build) Name() string { return GateBuild }

func (Build) Run(ctx context.Context, in *Input) ([]Result, error) {
	r := Result{Gate: GateBuild}
	steps := [][]string{{"build", "./..."}}
	if pkgs := in.targetPackages(); len(pkgs) > 0 {
		steps = append(steps, append([]string{"vet"}, pkgs...))
	}
	var cmds []string
	for _, args := range steps {
		in.progressf("build: go %s", strings.Join(args, " "))
		out, err := goCmd(ctx, in.RepoDir, in.commandTimeout(), args...)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, out.Command)
		r.Duration += out.Duration
		r.ExitCode = out.ExitCode
		if out.ExitCode != 0 {
			r.Findings = compilerFindings(out.Stderr)
			r.Summary = fmt.Sprintf("%s failed (exit %d)", out.Command, out.ExitCode)
			if out.TimedOut {
				r.Summary = fmt.Sprintf("%s timed out after %s", out.Command, in.commandTimeout())
			}
			if len(r.Findings) > 0 {
				r.Summary += ": " + joinFindings(r.Findings, 3)
			}
			break
		}
	}
	r.Command = strings.Join(cmds, " && ")
	r.Passed = r.ExitCode == 0
	if r.Passed {
		r.Summary = "build and vet clean"
	}
	return perItem(in, r), nil
}

// compilerFindings turns "file:line:col: message" lines of go build / go vet
// output into findings; other lines (package headers) are dropped unless
// nothing else is found.
func compilerFindings(stderr []byte) []Finding {
	var out []Finding
	for _, l := range strings.Split(string(stderr), "\n") {
		m := compilerLineRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		out = append(out, Finding{File: strings.TrimPrefix(m[1], "./"), Line: line, Message: m[3]})
	}
	if len(out) == 0 {
		for _, l := range tail(stderr, 5) {
			out = append(out, Finding{Message: l})
		}
	}
	return out
}

var compilerLineRE = regexp.MustCompile(`^(.+\.go):(\d+)(?::\d+)?: (.*)$`)

// perItem repeats a whole-tree outcome for every item, keeping each item's
// kind and ID, so that each can be stored as that item's evidence.
func perItem(in *Input, r Result) []Result {
	if len(in.Items) == 0 {
		return []Result{r}
	}
	out := make([]Result, len(in.Items))
	for i, it := range in.Items {
		out[i] = r
		out[i].Kind, out[i].ItemID = it.Kind, it.ID
	}
	return out
}
