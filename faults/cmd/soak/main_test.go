package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestBadFlags: bad usage is one line on stderr, exit 2, and no run.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-runs", "0"}, {"-duration", "-1s"}, {"-bogus"}, {"extra"}, {"-runs", "x"}, {"-value-size", "-1"}, {"-value-size", "2000000"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if n := strings.Count(strings.TrimSpace(errOut.String()), "\n"); n != 0 || errOut.Len() == 0 {
			t.Errorf("%q: stderr %q, want one line", args, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("%q: ran anyway: %q", args, out.String())
		}
	}
}

// TestOneShortRun: a campaign of one run prints the run and the totals.
func TestOneShortRun(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-runs", "1", "-duration", "1s", "-seed", "7", "-dir", t.TempDir()}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"run 1/1 seed 7 R3", "soak totals: 1 runs", "acknowledged writes lost: 0", "histories not linearizable: 0", "faults injected:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
