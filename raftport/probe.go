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
	probeSpec = raftprobe.AppendEntrySpec[Entry]
	probeMsg  = raftprobe.AppendEntryMsg[Entry]
)

func init() { raftprobe.Register[Entry, RaftState](probePort{}) }

// probePort is what this package registers with raftprobe.
type probePort struct{}

func (probePort) Open(node any) (raftprobe.Window[Entry, RaftState], bool) {
	n, ok := node.(*raft)
	if !ok {
		return nil, false
	}
	return nodeWindow{n}, true
}

// InitNode creates and recovers a node as StartRaftNode does, without
// starting its run loop: the step-by-step tests call the protocol's
// handlers themselves, and a running loop would race them.
func (probePort) InitNode(server any, account string, cfg any) (any, error) {
	s, sok := server.(*Server)
	c, cok := cfg.(*RaftConfig)
	if !sok || !cok {
		return nil, errProbePortArgs
	}
	n, err := s.initRaftNode(account, c)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (probePort) Codec() raftprobe.Codec[Entry] { return probeCodec{} }

func (probePort) Limits() raftprobe.Limits {
	return raftprobe.Limits{
		PendingCacheDropThreshold: paeDropThreshold,
		ErrLeaderLen:              errLeaderLen,
		ErrTooManyEntries:         errTooManyEntries,
		ErrBadAppendEntry:         errBadAppendEntry,
	}
}

// nodeWindow is the test window on one node.
type nodeWindow struct{ n *raft }

var _ raftprobe.Window[Entry, RaftState] = nodeWindow{}

func (w nodeWindow) Lock()   { w.n.Lock() }
func (w nodeWindow) Unlock() { w.n.Unlock() }

// windowRead returns what look sees under the node's read lock.
func windowRead[T any](w nodeWindow, look func(n *raft) T) T {
	w.n.RLock()
	defer w.n.RUnlock()
	return look(w.n)
}

// windowChange runs change under the node's write lock and returns its result;
// each of the window's setters is one such change.
func windowChange[T any](w nodeWindow, change func(n *raft) T) T {
	w.n.Lock()
	defer w.n.Unlock()
	return change(w.n)
}

// set is windowChange for a change with nothing to report.
func (w nodeWindow) set(change func(n *raft)) {
	windowChange(w, func(n *raft) struct{} { change(n); return struct{}{} })
}

var errProbePortArgs = errors.New("raftport: InitNode needs a *Server and a *RaftConfig")
