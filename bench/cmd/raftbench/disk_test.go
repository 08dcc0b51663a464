package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProbeDiskMeasuresFsyncs(t *testing.T) {
	dir := t.TempDir()
	p := probeDisk(dir)
	if p.Err != "" {
		t.Fatalf("probe failed: %s", p.Err)
	}
	for name, l := range map[string]fsyncLatency{"one": p.One, "three": p.Three} {
		if l.P50 <= 0 || l.P99 < l.P50 {
			t.Errorf("%s file(s): p50 %v, p99 %v", name, l.P50, l.P99)
		}
	}
	left, err := os.ReadDir(dir)
	if err != nil || len(left) != 0 {
		t.Errorf("the probe left %d files behind (%v)", len(left), err)
	}
	if s := p.String(); !strings.Contains(s, "(1 file)") || !strings.Contains(s, "(3 files at once)") {
		t.Errorf("String() = %q", s)
	}
}

func TestProbeDiskReportsWhatStoppedIt(t *testing.T) {
	p := probeDisk(filepath.Join(t.TempDir(), "missing"))
	if p.Err == "" || !strings.HasPrefix(p.String(), "not measured: ") {
		t.Fatalf("a missing directory gave %+v, %q", p, p.String())
	}
}
