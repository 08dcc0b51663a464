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

// StartupFlags are the node's flags for a group being created or scaled
// up: while initializing, an empty log is expected rather than lost data;
// a scale-up member stays an observer until the leader sent it data.
type StartupFlags struct {
	Initializing bool
	ScaleUp      bool
	Observer     bool
}

// StartupFlags reads the flags under the node's read lock.
func (p *Probe) StartupFlags() StartupFlags {
	p.n.RLock()
	defer p.n.RUnlock()
	return StartupFlags{Initializing: p.n.initializing, ScaleUp: p.n.scaleUp, Observer: p.n.observer}
}

// SetInitializing sets the initializing flag, as the reference tests do to
// stage a new group.
func (p *Probe) SetInitializing(on bool) { p.locked(func() { p.n.initializing = on }) }

// SetScaleUp sets the scale-up flag without touching observer mode.
func (p *Probe) SetScaleUp(on bool) { p.locked(func() { p.n.scaleUp = on }) }

// CreateCatchup starts a catchup for msg as a follower does when it finds
// itself behind the leader, and returns the catchup inbox; the catchup's
// subscription is then Probe.CatchupSub.
func (p *Probe) CreateCatchup(msg *AppendEntryMsg) (string, error) {
	ae, err := decodeAppendEntry(append([]byte(nil), msg.buf...), nil, msg.spec.Reply)
	if err != nil {
		return "", err
	}
	p.n.Lock()
	defer p.n.Unlock()
	return p.n.createCatchup(ae), nil
}

// QueueAppendEntry queues msg as the transport handler does when it
// arrives on via, without processing it.
func (p *Probe) QueueAppendEntry(msg *AppendEntryMsg, via Sub) error {
	ae, err := decodeAppendEntry(append([]byte(nil), msg.buf...), via.sub, msg.spec.Reply)
	if err != nil {
		return err
	}
	p.n.entry.Push(ae)
	return nil
}

// ProcessAppendEntries runs one pass of the follower loop over the queued
// append entries, as the run loop does when they arrive.
func (p *Probe) ProcessAppendEntries() { p.n.processAppendEntries() }

// OutOfResources reports whether the node's host has used up the storage
// budget the node is tracked against.
func (p *Probe) OutOfResources() bool { return p.n.outOfResources() }

// SetWriteErr reports a storage failure to the node as its own writes do.
func (p *Probe) SetWriteErr(err error) { p.n.setWriteErr(err) }
