package raftport

import (
	"fmt"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// RaftState is where a node stands in the protocol.
type RaftState uint8

const (
	Follower RaftState = iota
	Leader
	Candidate
	Closed
)

func (state RaftState) String() string {
	names := [...]string{Follower: "FOLLOWER", Leader: "LEADER", Candidate: "CANDIDATE", Closed: "CLOSED"}
	if int(state) < len(names) {
		return names[state]
	}
	return "UNKNOWN"
}

// EntryType tells the node and the state machine how to read an Entry.
// The numeric values are part of the wire and WAL format.
type EntryType uint8

const (
	EntryNormal EntryType = iota
	EntryOldSnapshot
	EntryPeerState
	EntryAddPeer
	EntryRemovePeer
	EntryLeaderTransfer
	EntrySnapshot
	// EntryCatchup is local only: it tells the state machine that a catchup
	// started; a nil CommittedEntry follows when it ends. It is never sent
	// or stored.
	EntryCatchup
)

func (t EntryType) String() string {
	names := [...]string{
		EntryNormal:         "Normal",
		EntryOldSnapshot:    "OldSnapshot",
		EntryPeerState:      "PeerState",
		EntryAddPeer:        "AddPeer",
		EntryRemovePeer:     "RemovePeer",
		EntryLeaderTransfer: "LeaderTransfer",
		EntrySnapshot:       "Snapshot",
	}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return fmt.Sprintf("Unknown [%d]", uint8(t))
}

// Entry is one item of a proposal or of an append entry.
type Entry struct {
	Type EntryType
	Data []byte
}

// ChangesMembership reports whether applying e alters the peer set, which
// the node allows only one at a time.
func (e *Entry) ChangesMembership() bool {
	return e.Type == EntryAddPeer || e.Type == EntryRemovePeer
}

// CommittedEntry is what the state machine receives on the apply queue.
// A nil *CommittedEntry marks the end of a replay or of a catchup.
type CommittedEntry struct {
	Index   uint64
	Entries []*Entry
}

// Pools keep the hot replication path from allocating per message.
var (
	cePool    = sync.Pool{New: func() any { return &CommittedEntry{} }}
	entryPool = sync.Pool{New: func() any { return &Entry{} }}
	aePool    = sync.Pool{New: func() any { return &appendEntry{} }}
	pePool    = sync.Pool{New: func() any { return &proposedEntry{} }}
	arPool    = sync.Pool{New: func() any { return &appendEntryResponse{} }}
)

func newCommittedEntry(index uint64, entries []*Entry) *CommittedEntry {
	ce := cePool.Get().(*CommittedEntry)
	ce.Index = index
	ce.Entries = entries
	return ce
}

// ReturnToPool hands ce and its entries back for reuse; ce must not be
// touched afterwards.
func (ce *CommittedEntry) ReturnToPool() {
	if ce == nil {
		return
	}
	for _, e := range ce.Entries {
		e.Type, e.Data = 0, nil
		entryPool.Put(e)
	}
	*ce = CommittedEntry{}
	cePool.Put(ce)
}

func newEntry(t EntryType, data []byte) *Entry {
	e := entryPool.Get().(*Entry)
	e.Type = t
	e.Data = data
	return e
}

// appendEntry is the replication message: the leader's view (term, commit)
// plus the consistency check (pterm, pindex) for the entries it carries.
type appendEntry struct {
	leader  string
	term    uint64
	commit  uint64
	pterm   uint64
	pindex  uint64
	entries []*Entry
	// Local only, never encoded:
	lterm uint64                 // leader's term as seen by a catchup; 0 means use term
	reply string                 // where to answer once stored
	sub   transport.Subscription // which subscription delivered it (catchup or live)
	buf   []byte                 // encoded form, as stored in the WAL
}

func newAppendEntry(leader string, term, commit, pterm, pindex uint64, entries []*Entry) *appendEntry {
	ae := aePool.Get().(*appendEntry)
	*ae = appendEntry{leader: leader, term: term, commit: commit, pterm: pterm, pindex: pindex, entries: entries}
	return ae
}

func (ae *appendEntry) returnToPool() {
	*ae = appendEntry{}
	aePool.Put(ae)
}

func (ae *appendEntry) String() string {
	return fmt.Sprintf("&{leader:%s term:%d commit:%d pterm:%d pindex:%d entries: %d}",
		ae.leader, ae.term, ae.commit, ae.pterm, ae.pindex, len(ae.entries))
}

// proposedEntry is a proposal waiting in the leader's queue; reply, when
// set, is answered once the proposal is handled.
type proposedEntry struct {
	*Entry
	reply string
	wait  *waiter // the ProposeWait call waiting on it, if any
}

func newProposedEntry(entry *Entry, reply string) *proposedEntry {
	pe := pePool.Get().(*proposedEntry)
	pe.Entry = entry
	pe.reply = reply
	return pe
}

func (pe *proposedEntry) returnToPool() {
	pe.Entry, pe.reply, pe.wait = nil, "", nil
	pePool.Put(pe)
}

// appendEntryResponse acknowledges (or refuses) an append entry.
type appendEntryResponse struct {
	term    uint64
	index   uint64
	peer    string
	reply   string // local only
	success bool
}

type voteRequest struct {
	term      uint64
	lastTerm  uint64
	lastIndex uint64
	candidate string
	reply     string // local only
}

type voteResponse struct {
	term    uint64
	peer    string
	granted bool
	empty   bool // the voter's log is empty
}

// extensionState records whether a JetStream domain extension was seen;
// raftport keeps it because it is part of the peer-state wire format.
type extensionState uint16

const (
	extUndetermined extensionState = iota
	extExtended
	extNotExtended
)

type peerState struct {
	knownPeers  []string
	clusterSize int
	domainExt   extensionState
}

type snapshot struct {
	lastTerm  uint64
	lastIndex uint64
	peerstate []byte
	data      []byte
}

// checkpoint is a snapshot being prepared outside the node lock.
type checkpoint struct {
	n         *raft
	term      uint64 // term of the last entry the snapshot covers
	applied   uint64 // index the snapshot will cover, the log is compacted to it
	papplied  uint64 // applied index of the previous snapshot
	snapFile  string
	peerstate []byte
}

// catchupState is a follower's view of a catchup stream from the leader.
type catchupState struct {
	sub    transport.Subscription
	cterm  uint64 // term we are catching up to
	cindex uint64 // index we are catching up to
	pterm  uint64 // where the catchup started
	pindex uint64
	active time.Time
	signal bool // EntryCatchup was sent to the state machine
}

// lps is what a leader knows of one peer.
type lps struct {
	ts time.Time // last heard from
	li uint64    // last index it stored
	kp bool      // a known (voting) peer, not just someone we heard
}

// Peer is the public view of lps.
type Peer struct {
	ID      string
	Current bool
	Last    time.Time
	Lag     uint64
}

// walKind says where a node's WAL lives.
type walKind int

const (
	fileWAL walKind = iota
	memoryWAL
)

// reachesStateMachine is true for the entry types the state machine gets
// on the apply queue once committed; the node keeps the rest to itself.
func (t EntryType) reachesStateMachine() bool {
	switch t {
	case EntryNormal, EntrySnapshot, EntryAddPeer, EntryRemovePeer:
		return true
	}
	return false
}
