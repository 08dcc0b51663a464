package main

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// FuzzParseIDList: any input either is a usage error or gives a sorted list
// of distinct positive IDs, every one named by the input, that reads back
// the same from its plain form. The seeds (here and in testdata/fuzz) run
// as ordinary tests.
func FuzzParseIDList(f *testing.F) {
	for _, s := range []string{
		"2733-2740, 2745", "1", "5-5", " 2733 - 2735 , 2745 ", "2740,2733,2733", "", ",", "1,,2", "3-1", "-5", "1--2", "9-",
		"0", "+5", "007", "1-10000", "1-9999", "99999999999999999999", "9223372036854775800-9223372036854775807", "1 2", "a-b", "٣",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDList(s)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("parseIDList(%q): %v, want a one-line usage error", s, err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("parseIDList(%q) accepted no IDs", s)
		}
		for i, id := range ids {
			if id <= 0 || (i > 0 && id <= ids[i-1]) {
				t.Fatalf("parseIDList(%q) = %v: not sorted, distinct and positive", s, ids)
			}
		}
		for _, id := range []int{ids[0], ids[len(ids)-1]} {
			if !named(s, id) {
				t.Fatalf("parseIDList(%q) returned %d, which no part of the input names", s, id)
			}
		}
		again, err := parseIDList(db.JoinIDs(ids))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("parseIDList(%q) = %v, which reads back as %v, %v", s, ids, again, err)
		}
	})
}

// named reports whether one comma-separated part of s is id or a range
// holding it.
func named(s string, id int) bool {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err1 := strconv.Atoi(strings.TrimSpace(lo))
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 == nil && err2 == nil && first <= id && id <= last {
			return true
		}
	}
	return false
}
