// Package textout prints porttrack's readable output: tables and fields
// that fit the reader's width, colour only on a terminal, and stored text
// with its control characters escaped.
//
// A command writes to a *Writer, which knows how its output is displayed;
// Table, Fields and Line read that from the writer, so a command adopts the
// rules by printing through them. Any other io.Writer (a test's buffer) gets
// full-width text without colour.
package textout

import (
	"io"
	"os"
	"strconv"
)

// DefaultWidth is the width assumed when the output is not a terminal and
// COLUMNS is not set: the classic terminal, so a pipe into less or a file
// reads the same as an 80-column window.
const DefaultWidth = 80

// Settings say how output is displayed.
type Settings struct {
	// Width is the number of columns a line may take; 0 means no limit.
	Width int
	// Color allows ANSI colour.
	Color bool
	// Terminal is set when the output is a terminal, where progress lines
	// may be rewritten in place.
	Terminal bool
}

// Writer is an output stream with its display settings.
type Writer struct {
	out      io.Writer
	settings Settings
	// wide, when it points to true, lifts the width limit: --wide asks
	// for every cell in full. It is read at print time, after the command
	// line is parsed.
	wide *bool
}

// NewWriter wraps out. wide may be nil.
func NewWriter(out io.Writer, s Settings, wide *bool) *Writer {
	return &Writer{out: out, settings: s, wide: wide}
}

func (w *Writer) Write(p []byte) (int, error) { return w.out.Write(p) }

// Settings returns the settings in force now.
func (w *Writer) Settings() Settings {
	s := w.settings
	if w.wide != nil && *w.wide {
		s.Width = 0
	}
	return s
}

// SettingsOf returns the settings of w if it is a *Writer, else no width
// limit and no colour.
func SettingsOf(w io.Writer) Settings {
	if tw, ok := w.(*Writer); ok {
		return tw.Settings()
	}
	return Settings{}
}

// Detect works out the settings for out from the process's surroundings:
//
//   - width: the terminal's width when out is a terminal; otherwise
//     COLUMNS when it is a positive number; otherwise DefaultWidth;
//   - colour: only on a terminal, and never when NO_COLOR is set to
//     anything non-empty (https://no-color.org) or TERM is dumb.
func Detect(out io.Writer, getenv func(string) string) Settings {
	terminal, cols := false, 0
	if f, ok := out.(*os.File); ok {
		terminal, cols = terminalSize(f.Fd())
	}
	return decide(terminal, cols, getenv)
}

// decide is Detect once the terminal has been asked.
func decide(terminal bool, termCols int, getenv func(string) string) Settings {
	s := Settings{Terminal: terminal, Width: DefaultWidth}
	switch {
	case terminal && termCols > 0:
		s.Width = termCols
	default:
		if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
			s.Width = n
		}
	}
	s.Color = terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	return s
}
