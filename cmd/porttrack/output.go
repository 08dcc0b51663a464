package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// renderTable prints rows under header as a bordered table.
func renderTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewWriter(w)
	headerCells := make([]any, len(header))
	for i, h := range header {
		headerCells[i] = h
	}
	t.Header(headerCells...)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}

// statusCounts counts items by status.
type statusCounts map[db.Status]int

func countStatuses(items []db.Item) statusCounts {
	c := statusCounts{}
	for _, it := range items {
		c[it.Status]++
	}
	return c
}

// String lists non-zero counts in workflow order: "verified 3, deferred 50".
func (c statusCounts) String() string {
	var parts []string
	for _, s := range db.ItemStatuses {
		if n := c[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (c statusCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}
