package raftport

// The test window (internal/raftprobe) on this package's nodes. The ported
// reference tests drive the protocol step by step and read its counters,
// which a black-box API cannot offer; the window gives them that without
// putting it in the users' API. Nothing in normal operation uses it.

import (
	"errors"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

type (
	aeSpec = raftprobe.AppendEntrySpec[Entry]
	aeMsg  = raftprobe.AppendEntryMsg[Entry]
)

func init() { raftprobe.Register[Entry, RaftState](port{}) }

// port is what this package registers with raftprobe.
type port struct{}

func (port) Open(node any) (raftprobe.Window[Entry, RaftState], bool) {
	n, ok := node.(*raft)
	if !ok {
		return nil, false
	}
	return window{n}, true
}

// InitNode creates and recovers a node as StartRaftNode does, without
// starting its run loop: the step-by-step tests call the protocol's
// handlers themselves, and a running loop would race them.
func (port) InitNode(server any, account string, cfg any) (any, error) {
	s, sok := server.(*Server)
	c, cok := cfg.(*RaftConfig)
	if !sok || !cok {
		return nil, errBadPortArgs
	}
	n, err := s.initRaftNode(account, c)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (port) Codec() raftprobe.Codec[Entry] { return codec{} }

func (port) Limits() raftprobe.Limits {
	return raftprobe.Limits{
		PendingCacheDropThreshold: paeDropThreshold,
		ErrLeaderLen:              errLeaderLen,
		ErrTooManyEntries:         errTooManyEntries,
		ErrBadAppendEntry:         errBadAppendEntry,
	}
}

// window is the test window on one node.
type window struct{ n *raft }

var _ raftprobe.Window[Entry, RaftState] = window{}

func (w window) Lock()   { w.n.Lock() }
func (w window) Unlock() { w.n.Unlock() }

// reading returns what look sees under the node's read lock.
func reading[T any](w window, look func(n *raft) T) T {
	w.n.RLock()
	defer w.n.RUnlock()
	return look(w.n)
}

// changing runs change under the node's write lock and returns its result;
// each of the window's setters is one such change.
func changing[T any](w window, change func(n *raft) T) T {
	w.n.Lock()
	defer w.n.Unlock()
	return change(w.n)
}

// set is changing for a change with nothing to report.
func (w window) set(change func(n *raft)) {
	changing(w, func(n *raft) struct{} { change(n); return struct{}{} })
}

var errBadPortArgs = errors.New("raftport: InitNode needs a *Server and a *RaftConfig")
