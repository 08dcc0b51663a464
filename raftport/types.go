package raftport

import (
	"fmt"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// RaftState is where a node stands in the protocol.
type RaftState uint8

// The states. Their values are those of the NATS server, which tests and
// logs may compare.
const (
	Follower  RaftState = 0
	Leader    RaftState = 1
	Candidate RaftState = 2
	Closed    RaftState = 3
)

// stateNames are the states as logs and String show them.
var stateNames = [...]string{Follower: "FOLLOWER", Leader: "LEADER", Candidate: "CANDIDATE", Closed: "CLOSED"}

func (state RaftState) String() string {
	if int(state) >= len(stateNames) {
		return "UNKNOWN"
	}
	return stateNames[state]
}

// EntryType tells the node and the state machine how to read an Entry.
// The numeric values are part of the wire and WAL format.
type EntryType uint8

// The entry types, numbered as on the wire and in the WAL.
const (
	EntryNormal         EntryType = 0 // a command for the state machine
	EntryOldSnapshot    EntryType = 1 // a snapshot in the older format; read as EntrySnapshot
	EntryPeerState      EntryType = 2 // the leader's peer set; the node applies it
	EntryAddPeer        EntryType = 3 // a peer joins
	EntryRemovePeer     EntryType = 4 // a peer leaves
	EntryLeaderTransfer EntryType = 5 // a leadership transfer
	EntrySnapshot       EntryType = 6 // a snapshot of the state machine
	// EntryCatchup is local only: it tells the state machine that a catchup
	// started; a nil CommittedEntry follows when it ends. It is never sent
	// or stored.
	EntryCatchup EntryType = 7
)

// entryTypeNames are the types as String shows them; EntryCatchup, never
// on the wire, has none.
var entryTypeNames = map[EntryType]string{
	EntryNormal: "Normal", EntryOldSnapshot: "OldSnapshot", EntryPeerState: "PeerState",
	EntryAddPeer: "AddPeer", EntryRemovePeer: "RemovePeer",
	EntryLeaderTransfer: "LeaderTransfer", EntrySnapshot: "Snapshot",
}

func (t EntryType) String() string {
	if name, known := entryTypeNames[t]; known {
		return name
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
//
// The Entries' Data are read-only: on the leader they are the proposers'
// own buffers, on a follower mostly slices of the message that brought them,
// which the in-process transport hands to every receiver at once. The
// state machine may keep them; it must not write into them.
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
	leader                      string
	term, commit, pterm, pindex uint64
	entries                     []*Entry

	// Local only, never encoded: the leader's term as a catchup sees it
	// (0: use term), where to answer once stored, the subscription that
	// delivered it (catchup or live), and the encoded form, as stored in
	// the WAL.
	lterm uint64
	reply string
	sub   transport.Subscription
	buf   []byte
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
// Its reply is local only: where a follower asks to be caught up.
type appendEntryResponse struct {
	term, index uint64
	peer, reply string
	success     bool
}

// voteRequest asks for a vote; reply is local only.
type voteRequest struct {
	term, lastTerm, lastIndex uint64
	candidate, reply          string
}

// voteResponse answers one; empty says the voter's log is empty.
type voteResponse struct {
	term           uint64
	peer           string
	granted, empty bool
}

// extensionState records whether a JetStream domain extension was seen;
// raftport keeps it because it is part of the peer-state wire format.
type extensionState uint16

// The extension states, numbered as in peers.idx.
const (
	extUndetermined extensionState = 0
	extExtended     extensionState = 1
	extNotExtended  extensionState = 2
)

// peerState is the peer set as peers.idx and EntryPeerState carry it.
type peerState struct {
	knownPeers  []string
	clusterSize int
	domainExt   extensionState
}

// snapshot is a snapshot file's contents.
type snapshot struct {
	lastTerm, lastIndex uint64
	peerstate, data     []byte
}

// checkpoint is a snapshot being prepared outside the node lock.
type checkpoint struct {
	n *raft
	// The term of the last entry the snapshot covers, the index it will
	// cover (the log is compacted to it), and the applied index of the
	// previous snapshot.
	term, applied, papplied uint64
	snapFile                string
	peerstate               []byte
}

// catchupState is a follower's view of a catchup stream from the leader.
type catchupState struct {
	sub transport.Subscription
	// The term and index we catch up to, and those we started from.
	cterm, cindex, pterm, pindex uint64
	active                       time.Time
	signal                       bool // EntryCatchup was sent to the state machine
}

// lps is what a leader knows of one peer.
type lps struct {
	kp bool      // a known (voting) peer, not just someone we heard
	li uint64    // last index it stored
	ts time.Time // last heard from
}

// Peer is the public view of lps.
type Peer struct {
	// ID names the peer; Current says whether it is caught up; Last is
	// when it was last heard from, and Lag how many entries it is behind.
	ID      string
	Last    time.Time
	Lag     uint64
	Current bool
}

// walKind says where a node's WAL lives.
type walKind int

// The kinds of WAL.
const (
	fileWAL   walKind = 0
	memoryWAL walKind = 1
)

// reachesStateMachine is true for the entry types the state machine gets
// on the apply queue once committed; the node keeps the rest to itself.
func (t EntryType) reachesStateMachine() bool {
	return int(t) < len(forStateMachine) && forStateMachine[t]
}

var forStateMachine = [...]bool{EntryNormal: true, EntrySnapshot: true, EntryAddPeer: true, EntryRemovePeer: true}
