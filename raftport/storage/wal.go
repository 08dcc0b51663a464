// Package storage holds what a raftport node keeps on disk: the write-ahead
// log, snapshots, and the small term/vote and peer-state files.
package storage

import "errors"

var (
	// ErrNotFound is returned by Load for an index outside [FirstIndex, LastIndex].
	ErrNotFound = errors.New("storage: entry not found")
	// ErrCorrupt wraps every checksum or framing failure; callers must not
	// use data that came with it.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrClosed is returned by every call on a closed WAL.
	ErrClosed = errors.New("storage: closed")
	// ErrBadIndex is returned by Truncate for an index below the compacted
	// prefix, which cannot be reached any more.
	ErrBadIndex = errors.New("storage: index out of range")
)

// State describes a WAL. An empty WAL has LastIndex == FirstIndex-1.
type State struct {
	FirstIndex uint64
	LastIndex  uint64
	FirstTerm  uint64 // 0 when empty
	LastTerm   uint64 // 0 when empty
	Entries    uint64
	Bytes      uint64 // payload bytes held, without framing
}

// WAL is the log a node appends to. Indexes are dense: entry i+1 follows
// entry i. It is safe for concurrent use.
type WAL interface {
	// Append stores data at LastIndex+1 and returns that index. With the
	// default sync policy the entry is durable when Append returns.
	Append(term uint64, data []byte) (uint64, error)
	// Load returns the term and data stored at index. The returned slice is
	// the caller's to keep.
	Load(index uint64) (term uint64, data []byte, err error)
	State() State
	// Truncate removes every entry after index (a conflicting suffix).
	// Truncate(0) removes everything and the next Append gets index 1.
	// An index below FirstIndex-1 returns ErrBadIndex and changes nothing.
	Truncate(index uint64) error
	// Compact removes every entry before index (they are in a snapshot).
	// Compacting past LastIndex+1 empties the log and the next Append gets
	// index itself.
	Compact(index uint64) error
	// Sync makes every appended entry durable.
	Sync() error
	// Volatile reports whether the log lives only in this process's
	// memory (MemWAL), so that a new one starts empty. A node on a fresh
	// volatile log gets its state from the leader instead of its own
	// snapshots. A wrapper that embeds a WAL reports what it wraps.
	Volatile() bool
	Close() error
	// Delete closes the WAL and removes its files.
	Delete() error
}

// OwningWAL is a WAL that can keep the caller's buffer instead of a copy
// of it (MemWAL).
type OwningWAL interface {
	// AppendOwned is Append for a caller that never writes to data again.
	AppendOwned(term uint64, data []byte) (uint64, error)
}

// Ticket names a point in a WAL's write order: everything written up to
// it becomes durable together.
type Ticket uint64

// DeferredWAL is a WAL that can write an entry at once and make it
// durable later, so that a writer may go on (send the entry to its peers,
// write the next one) while the fsync runs, and writes made meanwhile
// share that fsync. A node acknowledges an entry only after Await.
type DeferredWAL interface {
	WAL
	// Write stores data at LastIndex+1 and returns its index and the
	// ticket Await takes. The entry is readable at once but not yet
	// durable.
	Write(term uint64, data []byte) (uint64, Ticket, error)
	// Await returns once everything written up to t is durable, or the
	// error that stops it from ever being (the WAL failed or closed).
	// Truncate makes everything it keeps durable, so a ticket from
	// before it is met.
	Await(t Ticket) error
}

// OwningDeferredWAL is a DeferredWAL that can keep the caller's buffer
// instead of a copy of it (FileWAL, in its cache of recent entries).
type OwningDeferredWAL interface {
	DeferredWAL
	// WriteOwned is Write for a caller that never writes to data again.
	WriteOwned(term uint64, data []byte) (uint64, Ticket, error)
}
