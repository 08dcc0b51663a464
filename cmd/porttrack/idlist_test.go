package main

import (
	"errors"
	"slices"
	"testing"
)

func TestParseIDList(t *testing.T) {
	good := []struct {
		in   string
		want []int
	}{
		{"2733", []int{2733}},
		{"2733-2736,2745", []int{2733, 2734, 2735, 2736, 2745}},
		{" 2733 - 2735 , 2745 ", []int{2733, 2734, 2735, 2745}},
		{"2740,2733", []int{2733, 2740}},
		{"2733,2733,2733-2734", []int{2733, 2734}},
		{"5-5", []int{5}},
	}
	for _, c := range good {
		got, err := parseIDList(c.in)
		if err != nil {
			t.Errorf("parseIDList(%q): %v", c.in, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("parseIDList(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	bad := map[string]string{
		"":            "empty ID list",
		"   ":         "empty ID list",
		"2740-2733":   `reversed range "2740-2733"`,
		"0":           `invalid ID "0"`,
		"-5":          `invalid ID "-5"`,
		"3--5":        `invalid ID "-5"`,
		"abc":         `invalid ID "abc"`,
		"27a3":        `invalid ID "27a3"`,
		"2733,,2734":  "empty entry",
		"2733,":       "empty entry",
		"1-":          `invalid ID ""`,
		"1-200000":    "spans more than",
		"2733 2734":   `invalid ID "2733 2734"`,
		"2733-2734-5": `invalid ID "2734-5"`,
	}
	for in, want := range bad {
		_, err := parseIDList(in)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseIDList(%q) error = %v, want a usage error", in, err)
			continue
		}
		mustContain(t, err.Error(), want)
	}
}

func TestParseIDListErrorsExitWithUsage(t *testing.T) {
	te := newTestEnv(t)
	before := dump(t, te.DBPath)
	code, _, stderr := runCLI(t, te, "feature", "batch-update", "--ids", "2740-2733", "--set-status", "stub", "--execute")
	if code != exitUsage {
		t.Fatalf("exit = %d, want %d (stderr %q)", code, exitUsage, stderr)
	}
	mustContain(t, stderr, "reversed range")
	if after := dump(t, te.DBPath); after != before {
		t.Fatal("a rejected ID list changed the database")
	}
}
