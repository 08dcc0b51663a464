package storage

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// walMaker opens a fresh, empty WAL for one conformance case.
type walMaker func(t *testing.T) WAL

// conformanceCases is run against every WAL implementation, so MemWAL and
// FileWAL cannot drift apart in what the node sees.
var conformanceCases = []struct {
	name string
	run  func(t *testing.T, w WAL)
}{
	{"EmptyState", testEmptyState},
	{"AppendLoad", testAppendLoad},
	{"LoadOutOfRange", testLoadOutOfRange},
	{"LoadReturnsCopy", testLoadReturnsCopy},
	{"TruncateSuffix", testTruncateSuffix},
	{"TruncateBeyondLastIsNoop", testTruncateBeyondLast},
	{"TruncateZeroResets", testTruncateZero},
	{"TruncateBelowCompacted", testTruncateBelowCompacted},
	{"CompactPrefix", testCompactPrefix},
	{"CompactPastEnd", testCompactPastEnd},
	{"CompactBackwardsIsNoop", testCompactBackwards},
	{"CompactThenTruncateAll", testCompactThenTruncateAll},
	{"ClosedRejects", testClosedRejects},
}

func runConformance(t *testing.T, open walMaker) {
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) {
			w := open(t)
			c.run(t, w)
		})
	}
}

func TestMemWALConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) WAL {
		w := NewMemWAL()
		t.Cleanup(func() {
			if err := w.Close(); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("close: %v", err)
			}
		})
		return w
	})
}

// payload makes data that differs per index and per size, so a load from
// the wrong place is caught.
func payload(index uint64, size int) []byte {
	b := bytes.Repeat([]byte{byte(index)}, size)
	copy(b, fmt.Sprintf("entry-%d", index))
	return b
}

// appendN appends entries with terms from termOf and returns nothing but
// fails the test on any surprise index.
func appendN(t *testing.T, w WAL, n int, termOf func(i uint64) uint64) {
	t.Helper()
	for range n {
		want := w.State().LastIndex + 1
		got, err := w.Append(termOf(want), payload(want, 10+int(want%50)))
		if err != nil {
			t.Fatalf("append %d: %v", want, err)
		}
		if got != want {
			t.Fatalf("append returned index %d, want %d", got, want)
		}
	}
}

func termByTen(i uint64) uint64 { return i/10 + 1 }

func wantState(t *testing.T, w WAL, want State) {
	t.Helper()
	if got := w.State(); got != want {
		t.Fatalf("state = %+v, want %+v", got, want)
	}
}

func wantEntry(t *testing.T, w WAL, index uint64, term uint64) {
	t.Helper()
	gt, data, err := w.Load(index)
	if err != nil {
		t.Fatalf("load %d: %v", index, err)
	}
	if gt != term {
		t.Fatalf("load %d: term %d, want %d", index, gt, term)
	}
	if want := payload(index, 10+int(index%50)); !bytes.Equal(data, want) {
		t.Fatalf("load %d: data %q, want %q", index, data, want)
	}
}

func wantNotFound(t *testing.T, w WAL, index uint64) {
	t.Helper()
	if _, _, err := w.Load(index); !errors.Is(err, ErrNotFound) {
		t.Fatalf("load %d: err %v, want ErrNotFound", index, err)
	}
}

// bytesOf sums the payload sizes appendN wrote for [from, to].
func bytesOf(from, to uint64) uint64 {
	var n uint64
	for i := from; i <= to; i++ {
		n += uint64(10 + i%50)
	}
	return n
}

func testEmptyState(t *testing.T, w WAL) {
	wantState(t, w, State{FirstIndex: 1, LastIndex: 0})
	wantNotFound(t, w, 0)
	wantNotFound(t, w, 1)
}

func testAppendLoad(t *testing.T, w WAL) {
	appendN(t, w, 100, termByTen)
	wantState(t, w, State{FirstIndex: 1, LastIndex: 100, FirstTerm: 1, LastTerm: 11, Entries: 100, Bytes: bytesOf(1, 100)})
	for i := uint64(1); i <= 100; i++ {
		wantEntry(t, w, i, termByTen(i))
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func testLoadOutOfRange(t *testing.T, w WAL) {
	appendN(t, w, 5, termByTen)
	wantNotFound(t, w, 0)
	wantNotFound(t, w, 6)
	wantNotFound(t, w, 1<<40)
}

func testLoadReturnsCopy(t *testing.T, w WAL) {
	buf := []byte("original")
	if _, err := w.Append(1, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "CHANGED!")
	_, got, err := w.Load(1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Fatalf("append kept the caller's buffer: %q", got)
	}
	copy(got, "scribble")
	if _, again, err := w.Load(1); err != nil || string(again) != "original" {
		t.Fatalf("load handed out internal storage: %q, %v", again, err)
	}
}

func testTruncateSuffix(t *testing.T, w WAL) {
	appendN(t, w, 50, termByTen)
	if err := w.Truncate(30); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	wantState(t, w, State{FirstIndex: 1, LastIndex: 30, FirstTerm: 1, LastTerm: 4, Entries: 30, Bytes: bytesOf(1, 30)})
	wantEntry(t, w, 30, termByTen(30))
	wantNotFound(t, w, 31)
	// A new leader's entries replace the conflicting suffix.
	appendN(t, w, 5, func(uint64) uint64 { return 99 })
	wantState(t, w, State{FirstIndex: 1, LastIndex: 35, FirstTerm: 1, LastTerm: 99, Entries: 35, Bytes: bytesOf(1, 35)})
	wantEntry(t, w, 31, 99)
	wantEntry(t, w, 35, 99)
}

func testTruncateBeyondLast(t *testing.T, w WAL) {
	appendN(t, w, 10, termByTen)
	if err := w.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(500); err != nil {
		t.Fatal(err)
	}
	wantState(t, w, State{FirstIndex: 1, LastIndex: 10, FirstTerm: 1, LastTerm: 2, Entries: 10, Bytes: bytesOf(1, 10)})
}

func testTruncateZero(t *testing.T, w WAL) {
	appendN(t, w, 20, termByTen)
	if err := w.Compact(8); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(0); err != nil {
		t.Fatalf("reset: %v", err)
	}
	wantState(t, w, State{FirstIndex: 1, LastIndex: 0})
	wantNotFound(t, w, 10)
	appendN(t, w, 3, termByTen)
	wantState(t, w, State{FirstIndex: 1, LastIndex: 3, FirstTerm: 1, LastTerm: 1, Entries: 3, Bytes: bytesOf(1, 3)})
	wantEntry(t, w, 1, 1)
}

func testTruncateBelowCompacted(t *testing.T, w WAL) {
	appendN(t, w, 20, termByTen)
	if err := w.Compact(11); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(5); !errors.Is(err, ErrBadIndex) {
		t.Fatalf("truncate below compacted prefix: err %v, want ErrBadIndex", err)
	}
	wantState(t, w, State{FirstIndex: 11, LastIndex: 20, FirstTerm: 2, LastTerm: 3, Entries: 10, Bytes: bytesOf(11, 20)})
	// FirstIndex-1 is the snapshot's last index: truncating to it empties
	// the log but keeps the position.
	if err := w.Truncate(10); err != nil {
		t.Fatal(err)
	}
	wantState(t, w, State{FirstIndex: 11, LastIndex: 10})
	appendN(t, w, 2, termByTen)
	wantEntry(t, w, 11, termByTen(11))
}

func testCompactPrefix(t *testing.T, w WAL) {
	appendN(t, w, 60, termByTen)
	if err := w.Compact(25); err != nil {
		t.Fatalf("compact: %v", err)
	}
	wantState(t, w, State{FirstIndex: 25, LastIndex: 60, FirstTerm: 3, LastTerm: 7, Entries: 36, Bytes: bytesOf(25, 60)})
	wantNotFound(t, w, 24)
	wantEntry(t, w, 25, termByTen(25))
	appendN(t, w, 5, termByTen)
	wantEntry(t, w, 65, termByTen(65))
}

func testCompactPastEnd(t *testing.T, w WAL) {
	appendN(t, w, 10, termByTen)
	if err := w.Compact(100); err != nil {
		t.Fatal(err)
	}
	wantState(t, w, State{FirstIndex: 100, LastIndex: 99})
	wantNotFound(t, w, 10)
	appendN(t, w, 2, termByTen)
	wantState(t, w, State{FirstIndex: 100, LastIndex: 101, FirstTerm: 11, LastTerm: 11, Entries: 2, Bytes: bytesOf(100, 101)})
	wantEntry(t, w, 100, termByTen(100))
}

func testCompactBackwards(t *testing.T, w WAL) {
	appendN(t, w, 10, termByTen)
	if err := w.Compact(6); err != nil {
		t.Fatal(err)
	}
	if err := w.Compact(3); err != nil {
		t.Fatal(err)
	}
	wantState(t, w, State{FirstIndex: 6, LastIndex: 10, FirstTerm: 1, LastTerm: 2, Entries: 5, Bytes: bytesOf(6, 10)})
}

func testCompactThenTruncateAll(t *testing.T, w WAL) {
	appendN(t, w, 30, termByTen)
	if err := w.Compact(11); err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(15); err != nil {
		t.Fatal(err)
	}
	wantState(t, w, State{FirstIndex: 11, LastIndex: 15, FirstTerm: 2, LastTerm: 2, Entries: 5, Bytes: bytesOf(11, 15)})
	appendN(t, w, 3, func(uint64) uint64 { return 7 })
	wantEntry(t, w, 16, 7)
	wantEntry(t, w, 18, 7)
}

func testClosedRejects(t *testing.T, w WAL) {
	appendN(t, w, 3, termByTen)
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	checks := map[string]error{}
	_, checks["append"] = w.Append(1, []byte("x"))
	_, _, checks["load"] = w.Load(1)
	checks["truncate"] = w.Truncate(1)
	checks["compact"] = w.Compact(2)
	checks["sync"] = w.Sync()
	checks["close"] = w.Close()
	for op, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after close: err %v, want ErrClosed", op, err)
		}
	}
}
