package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/internal/textout"
)

// progress receives the gates' progress lines. On a terminal it keeps one
// status line, rewritten in place with the time elapsed, so the tables that
// follow are not buried; anywhere else (CI logs, files, tests) every step is
// a plain line of its own.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	live    bool
	width   int
	start   time.Time
	pending []byte
}

func newProgress(out io.Writer) *progress {
	return &progress{out: out, live: isTerminal(out), width: textout.SettingsOf(out).Width, start: time.Now()}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	if tw, ok := w.(*textout.Writer); ok {
		return tw.Settings().Terminal
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, b...)
	for {
		i := bytes.IndexByte(p.pending, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := textout.Escape(string(p.pending[:i]))
		p.pending = p.pending[i+1:]
		var err error
		if p.live {
			// The status line is rewritten in place, which works only
			// while it fits on one line.
			status := fmt.Sprintf("[%s] %s", time.Since(p.start).Truncate(time.Second), line)
			if p.width > 1 {
				status = textout.Cut(status, p.width-1)
			}
			_, err = fmt.Fprintf(p.out, "\r\x1b[K%s", status)
		} else {
			_, err = fmt.Fprintln(p.out, line)
		}
		if err != nil {
			return 0, err
		}
	}
}

// done clears the status line on a terminal, before the tables print.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprint(p.out, "\r\x1b[K")
	}
}
