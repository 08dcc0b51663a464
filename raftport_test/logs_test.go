package raftport_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// logRecord is one line a host logged.
type logRecord struct {
	level slog.Level
	msg   string
}

// logCapture is a slog handler that keeps what a host logs, for tests of
// what a node reports to its operator: every record, or with warnOnly
// only warnings and errors.
type logCapture struct {
	mu       sync.Mutex
	warnOnly bool
	records  []logRecord
}

func (l *logCapture) Enabled(_ context.Context, level slog.Level) bool {
	return !l.warnOnly || level >= slog.LevelWarn
}

func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, logRecord{r.Level, r.Message})
	return nil
}

func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

// messages are the messages logged so far, in order.
func (l *logCapture) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.records))
	for i, r := range l.records {
		out[i] = r.msg
	}
	return out
}

// countWhere is how many records at level or above have a message that
// match accepts.
func (l *logCapture) countWhere(level slog.Level, match func(string) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.level >= level && match(r.msg) {
			n++
		}
	}
	return n
}

// count is how many records at level or above contain text.
func (l *logCapture) count(level slog.Level, text string) int {
	return l.countWhere(level, func(m string) bool { return strings.Contains(m, text) })
}

// has reports whether msg was logged, exactly.
func (l *logCapture) has(msg string) bool { return slices.Contains(l.messages(), msg) }

// contains reports whether a logged message contains sub.
func (l *logCapture) contains(sub string) bool { return l.count(slog.LevelDebug, sub) > 0 }

// logCount is how many times msg was logged, exactly.
func logCount(l *logCapture, msg string) int {
	return l.countWhere(slog.LevelDebug, func(m string) bool { return m == msg })
}

// logPrefixCount is how many logged messages start with prefix.
func logPrefixCount(l *logCapture, prefix string) int {
	return l.countWhere(slog.LevelDebug, func(m string) bool { return strings.HasPrefix(m, prefix) })
}
