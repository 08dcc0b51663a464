package textout

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// Field is one "Label: value" line of a record.
type Field struct {
	Label string
	Value string
}

// Fields prints aligned "Label: value" lines. A value too long for the
// width wraps at spaces and continues under itself, so prose such as a
// batch description is kept whole without the terminal breaking it.
func Fields(w io.Writer, fields []Field) error {
	s := SettingsOf(w)
	labelWidth := 0
	for _, f := range fields {
		labelWidth = max(labelWidth, Width(Escape(f.Label))+1)
	}
	var b strings.Builder
	for _, f := range fields {
		label := Escape(f.Label) + ":"
		value := Escape(f.Value)
		indent := strings.Repeat(" ", labelWidth+1)
		room := 0
		if s.Width > 0 {
			room = max(s.Width-len(indent), 1)
		}
		lines := wrap(value, room)
		for i, line := range lines {
			if i == 0 {
				b.WriteString(label + strings.Repeat(" ", labelWidth+1-Width(label)))
			} else {
				b.WriteString(indent)
			}
			if s.Color && len(lines) == 1 {
				line = paint(line, styleOf(line))
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks s into lines of at most width columns at spaces; a word wider
// than the width is split. width <= 0 means no limit.
func wrap(s string, width int) []string {
	if width <= 0 || Width(s) <= width {
		return []string{s}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for Width(word) > width {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			head := runewidth.Truncate(word, width, "")
			if head == "" {
				// A double-width character in a one-column room.
				_, size := utf8.DecodeRuneInString(word)
				head = word[:size]
			}
			lines = append(lines, head)
			word = word[len(head):]
		}
		switch {
		case line == "":
			line = word
		case Width(line)+1+Width(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// Paragraph prints s, escaped, as lines indented by indent spaces and
// wrapped at spaces to fit w's width.
func Paragraph(w io.Writer, indent int, s string) error {
	return wrapped(w, indent, indent, s)
}

// Item prints s, escaped, as one entry of a list: its first line indented
// by indent spaces, the lines it wraps onto two more.
func Item(w io.Writer, indent int, s string) error {
	return wrapped(w, indent, indent+2, s)
}

func wrapped(w io.Writer, first, rest int, s string) error {
	room := 0
	if width := SettingsOf(w).Width; width > 0 {
		room = max(width-rest, 1)
	}
	var b strings.Builder
	for i, line := range wrap(Escape(s), room) {
		indent := rest
		if i == 0 {
			indent = first
		}
		b.WriteString(strings.Repeat(" ", indent) + line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Line prints s, escaped and cut to w's width, as one line.
func Line(w io.Writer, s string) error {
	_, err := io.WriteString(w, Cut(Escape(s), SettingsOf(w).Width)+"\n")
	return err
}

// Linef is Line with formatting.
func Linef(w io.Writer, format string, args ...any) error {
	return Line(w, fmt.Sprintf(format, args...))
}
