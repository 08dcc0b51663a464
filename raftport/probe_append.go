package raftport

import (
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// AppendEntrySpec is the exported form of an append entry, so that tests
// can forge the exact messages a leader (or a stale leader) would send.
type AppendEntrySpec struct {
	Leader  string // node ID of the sender, idLen bytes or empty
	Term    uint64 // term the entries were written in
	Commit  uint64 // leader's commit index
	PTerm   uint64 // term of the entry before these
	PIndex  uint64 // index of the entry before these
	LTerm   uint64 // leader's current term during a catchup; 0 means Term
	Entries []*Entry
	// Reply is where the receiver answers; it never travels in the
	// encoding, the transport carries it.
	Reply string
}

// AppendEntryMsg is an encoded append entry. Every delivery through
// Probe.ProcessAppendEntry decodes a fresh message from the bytes, as the
// transport would, so one AppendEntryMsg can be delivered many times.
type AppendEntryMsg struct {
	spec AppendEntrySpec
	buf  []byte
}

// EncodeAppendEntry encodes spec with the wire format of the reference.
func EncodeAppendEntry(spec AppendEntrySpec) (*AppendEntryMsg, error) {
	ae := &appendEntry{
		leader:  spec.Leader,
		term:    spec.Term,
		commit:  spec.Commit,
		pterm:   spec.PTerm,
		pindex:  spec.PIndex,
		lterm:   spec.LTerm,
		entries: spec.Entries,
	}
	buf, err := ae.encode(nil)
	if err != nil {
		return nil, err
	}
	return &AppendEntryMsg{spec: spec, buf: buf}, nil
}

// DecodeAppendEntry reads an append entry as published on the wire, for
// tests that watch a group's traffic.
func DecodeAppendEntry(msg []byte) (AppendEntrySpec, error) {
	ae, err := decodeAppendEntry(append([]byte(nil), msg...), nil, "")
	if err != nil {
		return AppendEntrySpec{}, err
	}
	return specOf(ae), nil
}

// Bytes returns a copy of the encoding, to publish it on a transport.
func (m *AppendEntryMsg) Bytes() []byte { return append([]byte(nil), m.buf...) }

// Spec returns what m was encoded from.
func (m *AppendEntryMsg) Spec() AppendEntrySpec { return m.spec }

func specOf(ae *appendEntry) AppendEntrySpec {
	return AppendEntrySpec{
		Leader: ae.leader, Term: ae.term, Commit: ae.commit, PTerm: ae.pterm,
		PIndex: ae.pindex, LTerm: ae.lterm, Entries: ae.entries, Reply: ae.reply,
	}
}

// Sub names the subscription an append entry is delivered on. The zero
// Sub is "no subscription": a replay of the node's own log at startup.
type Sub struct {
	sub transport.Subscription
}

// IsZero reports whether s is the replay subscription.
func (s Sub) IsZero() bool { return s.sub == nil }

// AESub is the node's live append-entry subscription.
func (p *Probe) AESub() Sub {
	p.n.RLock()
	defer p.n.RUnlock()
	return Sub{p.n.aesub}
}

// CatchupSub is the subscription of the catchup under way, or the zero Sub
// when the node is not catching up.
func (p *Probe) CatchupSub() Sub {
	p.n.RLock()
	defer p.n.RUnlock()
	if p.n.catchup == nil {
		return Sub{}
	}
	return Sub{p.n.catchup.sub}
}

// ProcessAppendEntry hands msg to the node as if it had arrived on via,
// and returns once the node has processed it.
func (p *Probe) ProcessAppendEntry(msg *AppendEntryMsg, via Sub) error {
	ae, err := decodeAppendEntry(append([]byte(nil), msg.buf...), via.sub, msg.spec.Reply)
	if err != nil {
		return err
	}
	p.n.processAppendEntry(ae, via.sub)
	return nil
}

// ReplicationState is a copy of the node's log and commit counters.
type ReplicationState struct {
	State           RaftState
	Term            uint64
	PTerm           uint64
	PIndex          uint64
	Commit          uint64
	Processed       uint64
	Applied         uint64
	PApplied        uint64
	HCommit         uint64
	ApplyFloor      uint64 // a new leader signals once this index is applied
	MembChangeIndex uint64
	Leader          string
	Vote            string
	ClusterSize     int
	Quorum          int
	Bytes           uint64
	Paused          bool
	Initializing    bool
	WriteErr        error
}

// Replication reads the counters under the node's read lock.
func (p *Probe) Replication() ReplicationState {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.ReplicationLocked()
}

// ReplicationLocked reads the counters; the caller holds Lock.
func (p *Probe) ReplicationLocked() ReplicationState {
	n := p.n
	return ReplicationState{
		State: RaftState(n.state.Load()), Term: n.term, PTerm: n.pterm, PIndex: n.pindex,
		Commit: n.commit, Processed: n.processed, Applied: n.applied, PApplied: n.papplied,
		HCommit: n.hcommit, ApplyFloor: n.aflr, MembChangeIndex: n.membChangeIndex, Leader: n.leader, Vote: n.vote,
		ClusterSize: n.csz, Quorum: n.qn, Bytes: n.bytes, Paused: n.paused,
		Initializing: n.initializing, WriteErr: n.werr,
	}
}

// SetLogPositionLocked overwrites the node's view of its log, as the reference
// tests do to stage a scenario; the caller holds Lock.
func (p *Probe) SetLogPositionLocked(term, pterm, pindex, commit uint64) {
	n := p.n
	n.term, n.pterm, n.pindex, n.commit = term, pterm, pindex, commit
}

// CatchupView is a copy of a follower's catchup state.
type CatchupView struct {
	CTerm, CIndex uint64 // where the catchup ends
	PTerm, PIndex uint64 // where it started, or last progress
	Active        time.Time
	Signal        bool
}

// Catchup returns the catchup under way, if any.
func (p *Probe) Catchup() (CatchupView, bool) {
	p.n.RLock()
	defer p.n.RUnlock()
	c := p.n.catchup
	if c == nil {
		return CatchupView{}, false
	}
	return CatchupView{CTerm: c.cterm, CIndex: c.cindex, PTerm: c.pterm, PIndex: c.pindex,
		Active: c.active, Signal: c.signal}, true
}

// SetCatchupProgress sets the last progress (index and time) of the
// catchup under way, so stall detection can be tested without waiting.
func (p *Probe) SetCatchupProgress(pindex uint64, active time.Time) error {
	p.n.Lock()
	defer p.n.Unlock()
	if p.n.catchup == nil {
		return fmt.Errorf("raftport: node %s is not catching up", p.n.id)
	}
	p.n.catchup.pindex = pindex
	p.n.catchup.active = active
	return nil
}

// WALState is the state of the node's log storage.
func (p *Probe) WALState() storage.State { return p.n.wal.State() }

// LoadEntry decodes the append entry stored at index.
func (p *Probe) LoadEntry(index uint64) (AppendEntrySpec, error) {
	p.n.RLock()
	defer p.n.RUnlock()
	ae, err := p.n.loadEntry(index)
	if err != nil {
		return AppendEntrySpec{}, err
	}
	return specOf(ae), nil
}

// StoreToWAL stores msg in the node's log as a follower would.
func (p *Probe) StoreToWAL(msg *AppendEntryMsg) error {
	p.n.Lock()
	defer p.n.Unlock()
	return p.StoreToWALLocked(msg)
}

// StoreToWALLocked is StoreToWAL for a caller that holds Lock.
func (p *Probe) StoreToWALLocked(msg *AppendEntryMsg) error {
	ae, err := decodeAppendEntry(append([]byte(nil), msg.buf...), nil, "")
	if err != nil {
		return err
	}
	return p.n.storeToWAL(ae)
}

// BuildAppendEntryLocked builds and encodes the append entry the node
// would send next with entries (its id, term, commit and last log
// position). The caller holds Lock.
func (p *Probe) BuildAppendEntryLocked(entries []*Entry) (*AppendEntryMsg, error) {
	ae := p.n.buildAppendEntry(entries)
	spec := specOf(ae)
	ae.returnToPool()
	return EncodeAppendEntry(spec)
}

// TruncateWAL drops every log entry after index, taking term as the new
// last term.
func (p *Probe) TruncateWAL(term, index uint64) { p.locked(func() { p.n.truncateWAL(term, index) }) }

// ResetWAL empties the node's log.
func (p *Probe) ResetWAL() { p.locked(func() { p.n.resetWAL() }) }

// ApplyCommit commits index and hands it to the apply queue.
func (p *Probe) ApplyCommit(index uint64) error {
	p.n.Lock()
	defer p.n.Unlock()
	return p.n.applyCommit(index)
}

// Acks lists the peers that acknowledged each uncommitted index.
func (p *Probe) Acks() map[uint64][]string {
	p.n.RLock()
	defer p.n.RUnlock()
	out := make(map[uint64][]string, len(p.n.acks))
	for index, peers := range p.n.acks {
		for peer := range peers {
			out[index] = append(out[index], peer)
		}
	}
	return out
}

// CachePendingLocked puts spec into the pending cache at index, standing
// in for an entry cached earlier with different contents. The caller holds
// Lock.
func (p *Probe) CachePendingLocked(index uint64, spec AppendEntrySpec) {
	p.n.pae[index] = newAppendEntry(spec.Leader, spec.Term, spec.Commit, spec.PTerm, spec.PIndex, spec.Entries)
}

// ResponseSpec is an append-entry response as a peer sends it.
type ResponseSpec struct {
	Term    uint64
	Index   uint64
	Peer    string
	Reply   string // set when the peer asks to be caught up
	Success bool
}

// DecodeAppendEntryResponse reads a follower's answer as sent on the wire;
// reply is the subject the answer asked to be answered on (a catchup
// inbox when the follower wants to be caught up).
func DecodeAppendEntryResponse(msg []byte, reply string) (ResponseSpec, error) {
	ar := decodeAppendEntryResponse(msg)
	if ar == nil {
		return ResponseSpec{}, fmt.Errorf("raftport: append entry response of %d bytes, want %d", len(msg), appendEntryResponseLen)
	}
	defer arPool.Put(ar)
	return ResponseSpec{Term: ar.term, Index: ar.index, Peer: ar.peer, Reply: reply, Success: ar.success}, nil
}

// EncodeAppendEntryResponse encodes r as a follower sends it (Reply is not
// part of the encoding).
func EncodeAppendEntryResponse(r ResponseSpec) []byte {
	return r.response().encode(nil)
}

func (r ResponseSpec) response() *appendEntryResponse {
	return &appendEntryResponse{term: r.Term, index: r.Index, peer: r.Peer, reply: r.Reply, success: r.Success}
}

// ProcessAppendEntryResponse hands a peer's response to the leader logic.
func (p *Probe) ProcessAppendEntryResponse(r ResponseSpec) {
	p.n.processAppendEntryResponse(r.response())
}

// TrackResponse records a response for quorum, reporting whether it
// counted.
func (p *Probe) TrackResponse(r ResponseSpec) bool {
	p.n.Lock()
	defer p.n.Unlock()
	return p.n.trackResponse(r.response())
}

// SendAppendEntry sends entries as the leader would; a node that is not
// leader must refuse.
func (p *Probe) SendAppendEntry(entries []*Entry) { p.n.sendAppendEntry(entries) }

// AppendSubject is where the node's group publishes append entries.
func (p *Probe) AppendSubject() string {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.asubj
}

// LostQuorum reports the leader's view of whether it lost its quorum.
func (p *Probe) LostQuorum() bool { return p.n.lostQuorum() }

// SetScaleUpTime sets when the cluster last grew; the zero time turns off
// the grace period that keeps a leader from judging quorum too early.
func (p *Probe) SetScaleUpTime(t time.Time) { p.locked(func() { p.n.lsut = t }) }

// TrackPeer records contact with peer, as a response from it would.
func (p *Probe) TrackPeer(peer string) error { return p.n.trackPeer(peer) }

// UpdateLeader records newLeader as the group's leader.
func (p *Probe) UpdateLeader(newLeader string) { p.locked(func() { p.n.updateLeader(newLeader) }) }

// PeerView is a copy of what the node tracks of one peer.
type PeerView struct {
	LastSeen  time.Time
	LastIndex uint64
	Known     bool // a voting member, not just someone we heard from
}

// PeerViews returns the node's tracking of every peer, itself included.
func (p *Probe) PeerViews() map[string]PeerView {
	p.n.RLock()
	defer p.n.RUnlock()
	out := make(map[string]PeerView, len(p.n.peers))
	for id, ps := range p.n.peers {
		out[id] = PeerView{LastSeen: ps.ts, LastIndex: ps.li, Known: ps.kp}
	}
	return out
}

// SetPeerKnown marks a tracked peer as a voting member or not.
func (p *Probe) SetPeerKnown(peer string, known bool) error {
	p.n.Lock()
	defer p.n.Unlock()
	ps, ok := p.n.peers[peer]
	if !ok {
		return fmt.Errorf("raftport: %q is not a peer of %s", peer, p.n.id)
	}
	ps.kp = known
	return nil
}

// PendingCacheDropThreshold is how many entries the leader caches in
// memory before it stops caching and reloads from the log.
const PendingCacheDropThreshold = paeDropThreshold

// CatchupHandle holds on to one catchup of a node, so a test can put it
// back after the node dropped it, as the reference tests assign n.catchup.
type CatchupHandle struct {
	c *catchupState
}

// Sub is the subscription the held catchup's stream arrives on.
func (h CatchupHandle) Sub() Sub {
	if h.c == nil {
		return Sub{}
	}
	return Sub{h.c.sub}
}

// HoldCatchup returns the catchup under way (a zero handle when none).
func (p *Probe) HoldCatchup() CatchupHandle {
	p.n.RLock()
	defer p.n.RUnlock()
	return CatchupHandle{p.n.catchup}
}

// RestoreCatchup makes h the node's catchup again.
func (p *Probe) RestoreCatchup(h CatchupHandle) { p.locked(func() { p.n.catchup = h.c }) }

// ReplaceWAL swaps the node's log for wrap(log), e.g. to inject storage
// failures.
func (p *Probe) ReplaceWAL(wrap func(storage.WAL) storage.WAL) {
	p.n.Lock()
	defer p.n.Unlock()
	p.n.wal = wrap(p.n.wal)
}

// CancelCatchup ends the catchup under way, dropping its subscription.
func (p *Probe) CancelCatchup() { p.locked(func() { p.n.cancelCatchup() }) }

// CatchupFollower has a leader start streaming its log to the follower
// that sent r (r.Reply is where the stream goes).
func (p *Probe) CatchupFollower(r ResponseSpec) {
	ar := arPool.Get().(*appendEntryResponse)
	*ar = *r.response()
	p.n.catchupFollower(ar)
}

// CatchupFollowers lists the followers a leader is streaming its log to.
func (p *Probe) CatchupFollowers() []string {
	p.n.RLock()
	defer p.n.RUnlock()
	out := make([]string, 0, len(p.n.cu.out))
	for peer := range p.n.cu.out {
		out = append(out, peer)
	}
	return out
}
