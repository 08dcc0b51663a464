package gates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// run is the outcome of one go command.
type run struct {
	Command  string
	Stdout   []byte
	Stderr   []byte
	ExitCode int // -1 when the command could not start or was killed
	Duration time.Duration
	TimedOut bool
}

// goCmd runs the go command in dir with a deadline; a command that exits
// non-zero is an outcome, not an error. The error reports only a command
// that could not start or a cancelled parent context.
func goCmd(ctx context.Context, dir string, timeout time.Duration, args ...string) (run, error) {
	return goCmdEnv(ctx, dir, timeout, nil, args...)
}

// goCmdEnv is goCmd with extra environment variables.
func goCmdEnv(ctx context.Context, dir string, timeout time.Duration, env []string, args ...string) (run, error) {
	return runProgram(ctx, "go", dir, timeout, env, args...)
}

// runBinary runs a built test binary in dir (its package directory).
func runBinary(ctx context.Context, bin, dir string, timeout time.Duration, args ...string) (run, error) {
	return runProgram(ctx, bin, dir, timeout, nil, args...)
}

func runProgram(ctx context.Context, prog, dir string, timeout time.Duration, env []string, args ...string) (run, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, prog, args...)
	cmd.Dir = dir
	// The fixture and the port are their own modules; a go.work above them
	// must not pull them into a workspace.
	cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	killGroup(cmd)
	// Test binaries inherit the pipes; do not wait on them forever once the
	// go command itself is gone.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := run{
		Command:  filepath.Base(prog) + " " + strings.Join(args, " "),
		Stdout:   stdout.Bytes(),
		Stderr:   stderr.Bytes(),
		Duration: time.Since(start),
		ExitCode: cmd.ProcessState.ExitCode(),
	}
	if cctx.Err() != nil && ctx.Err() == nil {
		r.TimedOut, r.ExitCode = true, -1
		return r, nil
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, err
	}
	return r, nil
}

// GoVersion is the version of the go command the gates run in dir (for
// example "go1.26.8"), for the caller to store with the evidence.
func GoVersion(ctx context.Context, dir string) (string, error) {
	r, err := goCmd(ctx, dir, time.Minute, "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("go env GOVERSION: exit %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	return strings.TrimSpace(string(r.Stdout)), nil
}

// tail returns the last n non-empty lines of out, for summaries.
func tail(out []byte, n int) []string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var kept []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	return kept
}

// hungTests returns the tests a test binary named as still running when its
// -timeout fired ("panic: test timed out after …" followed by "running
// tests:" and one indented line per test), or nil if it did not time out.
func hungTests(out []byte) []string {
	text := string(out)
	at := strings.Index(text, "panic: test timed out after")
	if at < 0 {
		return nil
	}
	lines := strings.Split(text[at:], "\n")
	hung := []string{strings.TrimPrefix(strings.TrimSpace(lines[0]), "panic: ")}
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "running tests:" {
			continue
		}
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, "\t") {
				break
			}
			hung = append(hung, strings.TrimSpace(l))
		}
		break
	}
	return hung
}

// failureLines picks what explains a failed go test run: the "--- FAIL"
// lines and the file:line messages of failing tests, or else the last n
// lines of the output.
func failureLines(out []byte, n int) []string {
	var picked []string
	for _, l := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "--- FAIL") || testLineRE.MatchString(l) {
			picked = append(picked, t)
		}
	}
	if len(picked) == 0 {
		return tail(out, n)
	}
	if len(picked) > 2*n {
		picked = append(picked[:2*n], fmt.Sprintf("… and %d more lines", len(picked)-2*n))
	}
	return picked
}
