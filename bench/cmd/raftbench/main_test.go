package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
		{[]string{"-runs", "0"}, "-runs must be at least 1, got 0"},
		{[]string{"-attempts", "0"}, "-attempts must be at least 1, got 0"},
		{[]string{"-window", "0"}, "-window must be at least 1, got 0"},
		{[]string{"-window", "70000"}, "windows must be at most 65536"},
		{[]string{"-sizes", "64,8"}, "-sizes: 8 is outside 16..1048576"},
		{[]string{"-sizes", "big"}, `-sizes: "big" is not a number`},
		{[]string{"-proposers", "0"}, "-proposers: 0 is outside 1..4096"},
		{[]string{"-libs", "raftport,zookeeper"}, `-libs: unknown library "zookeeper"`},
		{[]string{"-modes", "disk"}, `-modes: unknown mode "disk"`},
		{[]string{"-only", "blocking,speed"}, `-only: unknown section "speed"`},
		{[]string{"-measure", "0s"}, "-measure must be positive"},
		{[]string{"-warmup", "-1s"}, "-warmup must not be negative"},
		{[]string{"-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-election", "1ms"}, "-election must be at least 10ms"},
		{[]string{"-catchup-size", "4"}, "-catchup-size must be at least 16"},
		{[]string{"-runs", "ten"}, `invalid value "ten" for flag -runs`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-auth", "-libs", "etcd", "-only", "blocking"}, "-auth: raftport is not among -libs"},
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

// quick keeps a run to a fraction of a second; the election timeout is
// long enough for -race on a loaded machine.
var quick = []string{"-runs", "1", "-warmup", "20ms", "-measure", "150ms", "-sizes", "64", "-election", "1s", "-timeout", "30s"}

// TestThroughputSectionsReportEveryLibraryAndMode runs the throughput and
// NATS sections of every library on a tiny workload and checks the report
// and the per-run files.
func TestThroughputSectionsReportEveryLibraryAndMode(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := append([]string{"-only", "blocking,pipelined,nats", "-proposers", "2", "-window", "8", "-nats-window", "8", "-out", out}, quick...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	report := stdout.String()
	for _, want := range []string{
		"GOMAXPROCS", "logs     ", "caveat", "re-measured on a quiet one", "fsync    of a 2048 B record", "(3 files at once)",
		"Throughput, blocking proposers", "PIPELINED, not what a waiting application sees", "Commit latency", "Resources",
		"Over NATS", "raftport ÷ hashicorp/raft", "raftport ÷ etcd raft", "raftport ÷ JetStream",
		"hashicorp/raft  durable    raft-boltdb/v2", "etcd raft       durable    none",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// etcd raft's durable cells are dashes, never another mode's figure,
	// and so is raftport's ratio to it.
	for _, title := range []string{"Throughput, blocking", "PIPELINED"} {
		rows := tableRows(report, title)
		if len(rows) != 3 || strings.Join(rows[0][3:6], " ") != "raftport hashicorp/raft etcd" {
			t.Fatalf("%s table: %q", title, rows)
		}
		for _, r := range rows[1:] {
			// mode, size (2 fields), load (1 or 3 fields), 3 figures, 2 ratios
			etcd, ratio := r[len(r)-3], r[len(r)-1]
			if durable := r[0] == "durable"; durable != (etcd == "—") || durable != (ratio == "—") {
				t.Errorf("%s table row %q: etcd cell %q, ratio %q", title, r, etcd, ratio)
			}
		}
	}
	if strings.Contains(report, "failed") {
		t.Errorf("a cell failed:\n%s", report)
	}
	raw, err := os.ReadFile(filepath.Join(out, "runs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var runs struct {
		Setup setup
		Runs  []flatRecord
	}
	if err := json.Unmarshal(raw, &runs); err != nil {
		t.Fatal(err)
	}
	// 5 targets × (blocking + pipelined), and 2 × 2 over NATS.
	if len(runs.Runs) != 14 || runs.Setup.Cores == 0 {
		t.Fatalf("runs.json holds %d runs (want 14), setup %+v", len(runs.Runs), runs.Setup)
	}
	for _, r := range runs.Runs {
		if r.EntriesPerSec == nil || r.LogEntries == nil || *r.LogEntries < 1 || r.LatencyP50Us == nil {
			t.Errorf("run without figures: %+v", r)
		}
		durableRaftport := r.Library == "raftport" && r.Mode == "durable"
		if (r.FsyncsPerEntryPerNode != nil) != durableRaftport {
			t.Errorf("fsyncs reported for %s %s: %v", r.Library, r.Mode, r.FsyncsPerEntryPerNode)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "runs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(csv), "\n"); lines != 15 {
		t.Errorf("runs.csv has %d lines, want a header and 14 runs", lines)
	}
}

// TestAuthAddsALabelledRaftportColumn runs -auth: raftport again with
// authenticated connections, in its own column next to raftport's (and
// over NATS next to raftport over NATS), named so in the per-run files.
func TestAuthAddsALabelledRaftportColumn(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := append([]string{"-auth", "-only", "blocking,nats", "-libs", "raftport", "-modes", "memory", "-proposers", "2", "-nats-window", "8", "-out", out}, quick...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	report := stdout.String()
	if rows := tableRows(report, "Throughput, blocking"); len(rows) != 2 || strings.Join(rows[0][3:], " ") != "raftport raftport+auth raftport ÷ raftport+auth" {
		t.Errorf("blocking table %q, want raftport, raftport+auth and their ratio", rows)
	}
	for _, want := range []string{"raftport+auth (FileWAL)", "raftport+auth ÷ JetStream", "raftport+auth: raftport on the same logs, each node's transport connection wrapped in transport.NewAuthConn"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "runs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var runs struct{ Runs []flatRecord }
	if err := json.Unmarshal(raw, &runs); err != nil {
		t.Fatal(err)
	}
	bySection := map[string]int{}
	for _, r := range runs.Runs {
		if r.Library == "raftport+auth" && r.Error == "" && r.EntriesPerSec != nil {
			bySection[r.Section]++
		}
	}
	// One blocking row; two NATS rows (1 synchronous, 8 in flight).
	if bySection[secBlocking] != 1 || bySection[secNATS] != 2 {
		t.Errorf("raftport+auth runs by section %v, want 1 blocking and 2 over NATS", bySection)
	}
}

func TestScenarioSectionsReport(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := append([]string{"-only", "failover,catchup", "-libs", "raftport,etcd", "-modes", "memory", "-failover-trials", "1", "-catchup-behind", "500"}, quick...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	report := stdout.String()
	for _, want := range []string{"Leader loss", "election timeout 1s", "Catch-up", "500 entries of 64 B", "in memory  log", "in memory  snapshot"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if rows := tableRows(report, "Leader loss"); len(rows) != 2 || strings.Join(rows[0], " ") != "mode raftport etcd raft" {
		t.Errorf("leader loss table %q, want raftport and etcd in memory", rows)
	}
	if strings.Contains(report, "Throughput") {
		t.Errorf("report has what was not asked for:\n%s", report)
	}
}

// tableRows returns the fields of each line of the table whose title
// starts with title: the lines after the title's blank line, up to the
// next blank line.
func tableRows(report, title string) [][]string {
	_, rest, ok := strings.Cut(report, "\n"+title)
	if !ok {
		return nil
	}
	_, rest, _ = strings.Cut(rest, "\n\n")
	body, _, _ := strings.Cut(rest, "\n\n")
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}
