// Package bench measures raftport against hashicorp/raft and etcd raft on
// the workloads applications run: a 3-node group in one process, each
// library on its own in-memory transport, entries proposed on the leader
// by concurrent proposers that each wait for their own entry to commit
// (and, labelled as such, one pipelined proposer with a window of
// proposals in flight), in memory and durable (fsync before acknowledge).
// It also times a leader loss and a lagging follower's catch-up, and runs
// raftport over an embedded NATS cluster beside a JetStream R3 stream.
//
// It is a module of its own so that raftport's users do not inherit the
// other libraries as dependencies.
package bench

import (
	"fmt"
	"time"
)

// GroupSize is the number of nodes of every benchmarked group.
const GroupSize = 3

// headerLen is the part of every payload that identifies it: the
// proposer's number and its sequence number, 8 bytes each. Replicas use it
// to check order; proposers use it to find their own commit.
const headerLen = 16

// MinEntrySize is the smallest payload, the header alone.
const MinEntrySize = headerLen

// MaxEntrySize bounds one payload; larger entries measure memcpy more than
// replication.
const MaxEntrySize = 1 << 20

// DefaultElectionTimeout is the election timeout every library gets
// unless Options say otherwise, so that the leader-loss figures compare
// protocols rather than settings: a follower that hears nothing for a
// random 1-2× of it campaigns, and a leader heartbeats every tenth of it.
// Shorter timeouts make leaders flap on a loaded two-core machine.
const DefaultElectionTimeout = 250 * time.Millisecond

// heartbeatsPerElection is how many heartbeat intervals make the election
// timeout, in every library.
const heartbeatsPerElection = 10

// Mode is where a group keeps its log.
type Mode string

const (
	// InMemory keeps the log in the process; nothing survives a restart
	// of the machine.
	InMemory Mode = "in memory"
	// Durable writes the log to files and fsyncs an entry before it is
	// acknowledged.
	Durable Mode = "durable"
)

// Modes lists the modes in table order.
func Modes() []Mode { return []Mode{InMemory, Durable} }

// Library is one Raft implementation under test.
type Library struct {
	// Name is the key used on the command line and in result files.
	Name string
	// Title heads its column.
	Title string
	// logs says, per mode, what log the library runs on; a mode it has
	// no log for is missing and its cells are dashes.
	logs map[Mode]logSpec
}

type logSpec struct {
	desc  string
	start starter
}

// Libraries returns every library, raftport first.
func Libraries() []Library {
	return []Library{
		{Name: "raftport", Title: "raftport", logs: map[Mode]logSpec{
			InMemory: {"storage.MemWAL", startRaftportMem},
			Durable:  {"storage.FileWAL, SyncAlways (fsync before Append returns, group commit, segment zero-filled ahead while fsyncs average up to 48 KiB)", startRaftportFile},
		}},
		{Name: "hashicorp", Title: "hashicorp/raft", logs: map[Mode]logSpec{
			InMemory: {"raft.InmemStore", startHashicorpMem},
			Durable:  {"raft-boltdb/v2 BoltStore, NoSync off (fsync per write transaction), FileSnapshotStore", startHashicorpBolt},
		}},
		{Name: "etcd", Title: "etcd raft", logs: map[Mode]logSpec{
			InMemory: {"raft.MemoryStorage", startEtcd},
		}},
	}
}

// NoDurableLog explains the dash in the durable rows of a library
// without a durable log.
const NoDurableLog = "etcd raft has no durable log in go.etcd.io/raft (its WAL lives in etcd/server): durable cells are dashes"

// LookupLibrary returns the library called name.
func LookupLibrary(name string) (Library, error) {
	var names []string
	for _, lib := range Libraries() {
		if lib.Name == name {
			return lib, nil
		}
		names = append(names, lib.Name)
	}
	return Library{}, fmt.Errorf("unknown library %q (have %v)", name, names)
}

// Target is a library in one mode: what a Session runs.
type Target struct {
	Library string
	Mode    Mode
	// Log describes the library's log in this mode.
	Log   string
	start starter
}

func (t Target) String() string { return t.Library + " " + string(t.Mode) }

// Target returns the library in mode, or false if it has no log for it.
func (l Library) Target(mode Mode) (Target, bool) {
	spec, ok := l.logs[mode]
	if !ok {
		return Target{}, false
	}
	return Target{Library: l.Name, Mode: mode, Log: spec.desc, start: spec.start}, true
}
