package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBadFlagsExitTwoWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n must be at least 1, got 0"},
		{[]string{"-runs", "-1"}, "-runs must be at least 1, got -1"},
		{[]string{"-window", "0"}, "-window must be at least 1, got 0"},
		{[]string{"-size", "4"}, "-size: entry size must be at least 8"},
		{[]string{"-size", "2000000"}, "-size: entry size must be at most"},
		{[]string{"-n", "ten"}, `invalid value "ten" for flag -n`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"-impl", "raftport-mem,zookeeper"}, `-impl: unknown implementation "zookeeper"`},
		{[]string{"-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-n", "5000000", "-size", "1024"}, "above the 1073741824 each in-memory log may hold"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "raftbench: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, msg, tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %q", tc.args, stdout.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "usage: raftbench") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// TestTableHasEveryImplementationAndRatio runs a tiny workload on every
// implementation and checks the report's shape.
func TestTableHasEveryImplementationAndRatio(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-n", "100", "-size", "32", "-window", "8", "-runs", "2", "-timeout", "20s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"100 entries of 32 bytes, window 8, median of 2 run(s)",
		"entries/s", "ns/entry", "allocs/entry", "bytes/entry", "peak heap MiB",
		"raftport-mem / hashicorp", "raftport-mem / etcd", "raftport-file / hashicorp", "raftport-file / etcd",
		"entries/s (higher is better)", "ns/entry (lower is better)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, name := range []string{"raftport-mem", "raftport-file", "hashicorp", "etcd"} {
		row := rowOf(out, name)
		if row == nil || len(row) != 7 {
			t.Errorf("row of %s: %q, want the name and 6 figures", name, row)
		}
		if got := strings.Count(stderr.String(), name+" "); got != 2 {
			t.Errorf("%s reported progress %d times, want 2", name, got)
		}
	}
}

func TestImplFilterLeavesOutRatios(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-n", "50", "-runs", "1", "-impl", "raftport-mem"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	if rowOf(out, "raftport-mem") == nil || rowOf(out, "etcd") != nil || strings.Contains(out, "ratio") {
		t.Fatalf("report with only raftport-mem:\n%s", out)
	}
}

// rowOf returns the fields of the table line starting with name.
func rowOf(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == name {
			return fields
		}
	}
	return nil
}
