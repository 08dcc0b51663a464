package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

// writeJSON prints v as indented JSON. encoding/json escapes C0 controls
// but passes DEL, C1 controls and format characters through; they are
// escaped here too, so JSON printed to a terminal is as safe as the tables.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeJSONText(buf.Bytes()))
	return err
}

// escapeJSONText rewrites the non-printing characters json.Encoder leaves
// raw as \u escapes. Such characters can only occur inside JSON strings,
// where the escape means the same character.
func escapeJSONText(data []byte) []byte {
	if textout.IsSafe(string(data)) {
		return data
	}
	var b bytes.Buffer
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == '\n' || r == utf8.RuneError || unicode.IsGraphic(r) {
			b.Write(data[:size])
		} else {
			for _, unit := range utf16Units(r) {
				fmt.Fprintf(&b, `\u%04x`, unit)
			}
		}
		data = data[size:]
	}
	return b.Bytes()
}

// utf16Units is r as JSON's \u escapes spell it: one unit, or a surrogate pair.
func utf16Units(r rune) []rune {
	if r < 0x10000 {
		return []rune{r}
	}
	r -= 0x10000
	return []rune{0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff}
}

// renderTable prints rows under header, fitted to the output's width; the
// first column (an ID or a name) is cut last.
func renderTable(w io.Writer, header []string, rows [][]string) error {
	return textout.Print(w, textout.Table{Header: header, Rows: rows, Keep: []int{0}})
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
