// Package bench is the replication workload shared by cmd/raftbench and
// this package's go test benchmarks: a 3-node group in one process, on an
// in-memory transport, replicating N entries of S bytes proposed on the
// leader with at most W proposals outstanding. The same workload runs on
// raftport, hashicorp/raft and etcd raft so that their figures can be
// compared when measured in the same process and run.
package bench

import (
	"errors"
	"fmt"
	"time"
)

// GroupSize is the number of nodes of every benchmarked group.
const GroupSize = 3

// MinEntrySize is the smallest payload: every entry starts with its
// 8-byte sequence number, which is how replicas check order.
const MinEntrySize = 8

// MaxEntrySize bounds one payload; larger entries measure memcpy more than
// replication.
const MaxEntrySize = 1 << 20

// Options configure a Session.
type Options struct {
	// Window is how many proposals may wait for their commit at once.
	Window int
	// EntrySize is the payload size in bytes.
	EntrySize int
	// Timeout bounds the election at Start and each Replicate; a stuck
	// group fails with an error instead of hanging.
	Timeout time.Duration
	// Dir is where durable logs and node state go; "" means a fresh
	// temporary directory, removed on Close.
	Dir string
}

// DefaultTimeout is used when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case o.Window < 1:
		return fmt.Errorf("window must be at least 1, got %d", o.Window)
	case o.EntrySize < MinEntrySize:
		return fmt.Errorf("entry size must be at least %d bytes (the sequence number), got %d", MinEntrySize, o.EntrySize)
	case o.EntrySize > MaxEntrySize:
		return fmt.Errorf("entry size must be at most %d bytes, got %d", MaxEntrySize, o.EntrySize)
	}
	return nil
}

// Impl is one implementation under test.
type Impl struct {
	// Name is the label in tables and benchmark names.
	Name string
	// Log says where the implementation keeps its log in this workload,
	// which matters when comparing: an fsync'd file is not a Go slice.
	Log   string
	start starter
}

// Implementations returns every implementation, raftport first.
func Implementations() []Impl {
	return []Impl{
		{Name: "raftport-mem", Log: "raftport MemWAL", start: startRaftportMem},
		{Name: "raftport-file", Log: "raftport FileWAL, default SyncAlways (fsync per append, group commit)", start: startRaftportFile},
		{Name: "hashicorp", Log: "raft.InmemStore (a durable log needs raft-boltdb, an extra dependency)", start: startHashicorp},
		{Name: "etcd", Log: "raft.MemoryStorage (etcd's WAL lives in etcd/server, an extra dependency)", start: startEtcd},
	}
}

// Lookup returns the implementation called name.
func Lookup(name string) (Impl, error) {
	var names []string
	for _, impl := range Implementations() {
		if impl.Name == name {
			return impl, nil
		}
		names = append(names, impl.Name)
	}
	return Impl{}, fmt.Errorf("unknown implementation %q (have %v)", name, names)
}

// Run starts a group of impl, replicates n entries and shuts it down. The
// election and the shutdown are not part of the returned figures.
func Run(impl Impl, n int, opts Options) (res Result, err error) {
	s, err := Start(impl, opts)
	if err != nil {
		return Result{}, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	return s.Replicate(n)
}
