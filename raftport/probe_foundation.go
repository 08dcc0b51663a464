package raftport

// Probe methods and exports for the codec, lifecycle and startup tests.

import "github.com/porttrack-dev/porttrack/raftport/storage"

// The append-entry encoding errors, for errors.Is in tests.
var (
	ErrLeaderLen      = errLeaderLen
	ErrTooManyEntries = errTooManyEntries
	ErrBadAppendEntry = errBadAppendEntry
)

// EncodeAppendEntryInto encodes spec as EncodeAppendEntry does, into b when
// b has room for the whole message (the reference's buffer reuse), into a
// new buffer otherwise.
func EncodeAppendEntryInto(spec AppendEntrySpec, b []byte) ([]byte, error) {
	ae := &appendEntry{
		leader: spec.Leader, term: spec.Term, commit: spec.Commit, pterm: spec.PTerm,
		pindex: spec.PIndex, lterm: spec.LTerm, entries: spec.Entries,
	}
	return ae.encode(b)
}

// StartRun starts the run loop of a node made by InitRaftNode, as the
// reference tests start n.run on a node they initialised themselves.
func (p *Probe) StartRun() { p.n.startRun() }

// WAL is the node's log, for tests that inspect or damage it directly.
func (p *Probe) WAL() storage.WAL {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.wal
}

// Subscriptions is how many transport subscriptions the node holds.
func (p *Probe) Subscriptions() int {
	p.n.RLock()
	defer p.n.RUnlock()
	return len(p.n.subs)
}
