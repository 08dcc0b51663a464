package raftport

// Probe methods for the apply and snapshot tests, and the entry point of
// tests that drive a node that is not running.

import "path/filepath"

// InitRaftNode creates and recovers a node as StartRaftNode does, but does
// not start its run loop: the reference's step-by-step tests (via
// initRaftNode) call the protocol's handlers themselves through the Probe,
// and a running loop would race them.
func InitRaftNode(s *Server, accName string, cfg *RaftConfig) (RaftNode, *Probe, error) {
	n, err := s.initRaftNode(accName, cfg)
	if err != nil {
		return nil, nil, err
	}
	return n, &Probe{n: n}, nil
}

// The errors of the snapshot API, for errors.Is in callers and tests.
var (
	ErrNoSnapAvailable = errNoSnapAvailable
	ErrSnapInProgress  = errSnapInProgress
	ErrSnapAborted     = errSnapAborted
	ErrCatchupsRunning = errCatchupsRunning
	ErrSnapshotCorrupt = errSnapshotCorrupt
)

// SnapshotView is the content of a snapshot file.
type SnapshotView struct {
	LastTerm  uint64
	LastIndex uint64
	PeerState []byte
	Data      []byte
}

func (v SnapshotView) snapshot() *snapshot {
	return &snapshot{lastTerm: v.LastTerm, lastIndex: v.LastIndex, peerstate: v.PeerState, data: v.Data}
}

// Spec makes the entries yielded by RaftNodeCheckpoint.AppendEntriesSeq
// readable outside the package.
func (ae *appendEntry) Spec() AppendEntrySpec { return specOf(ae) }

// StoreDir is the node's store directory (RaftConfig.Store).
func (p *Probe) StoreDir() string {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.sd
}

// SnapshotsDir is where the node keeps its snapshot files.
func (p *Probe) SnapshotsDir() string {
	return filepath.Join(p.StoreDir(), snapshotsDir)
}

// SnapFile is the path of the node's current snapshot, "" when it has none.
func (p *Probe) SnapFile() string {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.snapfile
}

// LoadLastSnapshot reads and verifies the node's current snapshot.
func (p *Probe) LoadLastSnapshot() (SnapshotView, error) {
	p.n.Lock()
	defer p.n.Unlock()
	snap, err := p.n.loadLastSnapshot()
	if err != nil {
		return SnapshotView{}, err
	}
	return SnapshotView{LastTerm: snap.lastTerm, LastIndex: snap.lastIndex, PeerState: snap.peerstate, Data: snap.data}, nil
}

// InstallSnapshotInternal installs snap as a snapshot received from the
// leader is installed: without a checkpoint, ending any in progress.
func (p *Probe) InstallSnapshotInternal(snap SnapshotView) error {
	p.n.Lock()
	defer p.n.Unlock()
	return p.n.installSnapshot(snap.snapshot())
}

// SetupLastSnapshot runs the startup recovery of the newest snapshot.
func (p *Probe) SetupLastSnapshot() error { return p.n.setupLastSnapshot() }

// SetSnapshotting marks a checkpoint as in progress (or not) without
// creating one, as the reference tests do to reach its later checks.
func (p *Probe) SetSnapshotting(on bool) { p.locked(func() { p.n.snapshotting = on }) }

// SetCommit overwrites the commit index, as the reference tests do.
func (p *Probe) SetCommit(index uint64) { p.locked(func() { p.n.commit = index }) }

// SetProcessed overwrites the processed index.
func (p *Probe) SetProcessed(index uint64) { p.locked(func() { p.n.processed = index }) }

// SetApplied overwrites the applied index, for instance to stand for a
// snapshot received but not applied yet.
func (p *Probe) SetApplied(index uint64) { p.locked(func() { p.n.applied = index }) }

// AddCatchupInProgress registers a follower catchup under name, which holds
// off snapshots that are not forced.
func (p *Probe) AddCatchupInProgress(name string) {
	p.n.Lock()
	defer p.n.Unlock()
	if p.n.cu.out == nil {
		p.n.cu.out = make(map[string]*outStream)
	}
	p.n.cu.out[name] = &outStream{peer: name, acks: newIPQueue[uint64](name), halt: make(chan struct{})}
}
