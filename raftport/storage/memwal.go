package storage

import (
	"errors"
	"sync"
)

// MemWAL is a WAL held in memory. It loses everything when the process
// ends; tests and nodes that need no durability use it. Close keeps the
// entries, so a node can restart on the same log: Reopen it and pass it
// to the new node.
type MemWAL struct {
	mu      sync.Mutex
	first   uint64
	entries []memEntry // entries[i] holds index first+i
	bytes   uint64
	closed  bool
}

type memEntry struct {
	term uint64
	data []byte
}

var _ WAL = (*MemWAL)(nil)

// NewMemWAL returns an empty WAL whose first Append gets index 1.
func NewMemWAL() *MemWAL {
	return &MemWAL{first: 1}
}

// Append stores a copy of data, so the caller may reuse its buffer.
func (w *MemWAL) Append(term uint64, data []byte) (uint64, error) {
	return w.AppendEntries([]Entry{{Term: term, Data: data}})
}

// AppendEntries stores copies of entries at LastIndex+1 onwards and returns
// the index of the first, as FileWAL.AppendEntries does.
func (w *MemWAL) AppendEntries(entries []Entry) (uint64, error) {
	if len(entries) == 0 {
		return 0, errors.New("storage: AppendEntries needs at least one entry")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	first := w.first + uint64(len(w.entries))
	for _, e := range entries {
		w.entries = append(w.entries, memEntry{term: e.Term, data: append([]byte(nil), e.Data...)})
		w.bytes += uint64(len(e.Data))
	}
	return first, nil
}

// AppendOwned stores data itself, not a copy: the caller hands the buffer
// over and must never write to it again. A node appends messages it will
// not touch again (its own encoding, or a received message, which the
// transport shares read-only among receivers), and a copy per entry per
// node was most of an in-memory group's work at 4 KiB.
func (w *MemWAL) AppendOwned(term uint64, data []byte) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	w.entries = append(w.entries, memEntry{term: term, data: data})
	w.bytes += uint64(len(data))
	return w.first + uint64(len(w.entries)) - 1, nil
}

func (w *MemWAL) Load(index uint64) (uint64, []byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, nil, ErrClosed
	}
	if index < w.first || index >= w.first+uint64(len(w.entries)) {
		return 0, nil, ErrNotFound
	}
	e := w.entries[index-w.first]
	return e.term, append([]byte(nil), e.data...), nil
}

func (w *MemWAL) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := State{
		FirstIndex: w.first,
		LastIndex:  w.first + uint64(len(w.entries)) - 1,
		Entries:    uint64(len(w.entries)),
		Bytes:      w.bytes,
	}
	if n := len(w.entries); n > 0 {
		s.FirstTerm = w.entries[0].term
		s.LastTerm = w.entries[n-1].term
	}
	return s
}

func (w *MemWAL) Truncate(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if index == 0 {
		w.first, w.entries, w.bytes = 1, nil, 0
		return nil
	}
	if index+1 < w.first {
		return ErrBadIndex
	}
	keep := index + 1 - w.first
	if keep >= uint64(len(w.entries)) {
		return nil
	}
	for _, e := range w.entries[keep:] {
		w.bytes -= uint64(len(e.data))
	}
	// Clear the dropped tail so its payloads can be collected.
	clear(w.entries[keep:])
	w.entries = w.entries[:keep]
	return nil
}

func (w *MemWAL) Compact(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if index <= w.first {
		return nil
	}
	drop := min(index-w.first, uint64(len(w.entries)))
	for _, e := range w.entries[:drop] {
		w.bytes -= uint64(len(e.data))
	}
	// Copy the survivors so the compacted prefix does not stay reachable
	// through the old backing array.
	w.entries = append([]memEntry(nil), w.entries[drop:]...)
	w.first = index
	return nil
}

// Sync has nothing to flush; it reports only whether the WAL is open.
func (w *MemWAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return nil
}

// Close refuses every later call until Reopen; the entries stay.
func (w *MemWAL) Close() error {
	if w.markClosed(true) {
		return ErrClosed
	}
	return nil
}

// markClosed sets whether the WAL is closed and says whether it was.
func (w *MemWAL) markClosed(closed bool) (was bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	was, w.closed = w.closed, closed
	return was
}

// Delete drops every entry and closes the WAL.
func (w *MemWAL) Delete() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed, w.first, w.entries, w.bytes = true, 1, nil, 0
	return nil
}

// Reopen makes a closed (not deleted) MemWAL usable again with the entries
// it held, as reopening a file log would, and returns it. A node stopped
// on it has closed it; a node started on the reopened log recovers them.
func (w *MemWAL) Reopen() *MemWAL {
	w.markClosed(false)
	return w
}

// Volatile is true: a MemWAL does not outlive the process.
func (w *MemWAL) Volatile() bool { return true }
