package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxRangeSpan caps one range so a typo like 1-99999999 fails fast instead of
// allocating; any real list is far smaller (the chunk rule allows 15 IDs).
const maxRangeSpan = 10000

// parseIDList reads "2733-2740, 2745": comma-separated IDs and inclusive
// ranges, spaces allowed around each part. IDs are positive. Duplicates are
// dropped, since naming an item twice asks for the same change; the result is
// sorted. Reversed ranges, empty parts and anything not a positive integer
// are errors.
func parseIDList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usagef("empty ID list")
	}
	var ids []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, usagef("ID list %q has an empty entry", s)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			id, err := parseID(part)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
			continue
		}
		if strings.TrimSpace(lo) == "" {
			return nil, usagef("invalid ID %q: IDs are positive integers", part)
		}
		first, err := parseID(strings.TrimSpace(lo))
		if err != nil {
			return nil, err
		}
		last, err := parseID(strings.TrimSpace(hi))
		if err != nil {
			return nil, err
		}
		if last < first {
			return nil, usagef("reversed range %q: write %d-%d", part, last, first)
		}
		if last-first >= maxRangeSpan {
			return nil, usagef("range %q spans more than %d IDs", part, maxRangeSpan)
		}
		// Counted, not compared: id <= last holds forever when last is the
		// largest int, and id++ wraps around.
		for n := 0; n <= last-first; n++ {
			ids = append(ids, first+n)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// parseID reads one positive item or batch ID.
func parseID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id <= 0 {
		return 0, usagef("invalid ID %q: IDs are positive integers", s)
	}
	return id, nil
}

func formatIDs(ids []int) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}
