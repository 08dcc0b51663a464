package raftprobe

import (
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// AppendEntrySpec is an append entry as plain values, so that a test can
// forge the exact message a leader (or a stale leader) would send and read
// the ones it sees on the wire. E is raftport.Entry.
type AppendEntrySpec[E any] struct {
	Leader                      string // the sender's node ID, or empty
	Term, Commit, PTerm, PIndex uint64 // entries' term, leader's commit, position before them
	LTerm                       uint64 // the leader's term during a catchup; 0 means Term
	Entries                     []*E
	// Reply is where the receiver answers; the transport carries it, the
	// encoding does not.
	Reply string
}

// AppendEntryMsg is an encoded append entry together with what it was
// encoded from. Every delivery decodes a fresh message from the bytes, as
// the transport would, so one AppendEntryMsg can be delivered many times.
type AppendEntryMsg[E any] struct {
	spec AppendEntrySpec[E]
	wire []byte
}

// NewAppendEntryMsg pairs an encoding with its spec; raftport's codec makes
// these, tests get them from Codec.EncodeAppendEntry.
func NewAppendEntryMsg[E any](spec AppendEntrySpec[E], wire []byte) *AppendEntryMsg[E] {
	return &AppendEntryMsg[E]{spec: spec, wire: wire}
}

// Bytes returns a copy of the encoding, to publish it on a transport.
func (m *AppendEntryMsg[E]) Bytes() []byte { return append([]byte(nil), m.wire...) }

// Spec returns what m was encoded from.
func (m *AppendEntryMsg[E]) Spec() AppendEntrySpec[E] { return m.spec }

// ResponseSpec is an append-entry response as a peer sends it.
type ResponseSpec struct {
	Term, Index uint64
	Peer        string
	Reply       string // set when the peer asks to be caught up
	Success     bool
}

// VoteRequestSpec is a candidate's vote request.
type VoteRequestSpec struct {
	Term                uint64 // the candidate's term
	LastTerm, LastIndex uint64 // the candidate's last log entry
	Candidate           string // the candidate's node ID
	// Reply is where the voter answers; the transport carries it, the
	// encoding does not.
	Reply string
}

// VoteResponseSpec is a voter's answer.
type VoteResponseSpec struct {
	Term    uint64 // the voter's term after handling the request
	Peer    string // the voter's node ID
	Granted bool
	Empty   bool // the voter's log is empty
}

// ReplicationState is a copy of a node's log and commit counters. S is
// raftport.RaftState.
type ReplicationState[S any] struct {
	State                                         S
	Term, PTerm, PIndex                           uint64
	Commit, Processed, Applied, PApplied, HCommit uint64
	ApplyFloor                                    uint64 // a new leader signals once this index is applied
	MembChangeIndex                               uint64
	Leader, Vote                                  string
	ClusterSize, Quorum                           int
	Bytes                                         uint64
	Paused, Initializing                          bool
	WriteErr                                      error
}

// StartupFlags are a node's flags for a group being created or scaled up:
// while initializing, an empty log is expected rather than lost data; a
// scale-up member stays an observer until the leader sent it data.
type StartupFlags struct{ Initializing, ScaleUp, Observer bool }

// CatchupView is a copy of a follower's catchup state.
type CatchupView struct {
	CTerm, CIndex uint64 // where the catchup ends
	PTerm, PIndex uint64 // where it started, or its last progress
	Active        time.Time
	Signal        bool
}

// PeerView is a copy of what a node tracks of one peer: when it last heard
// from it, the last index it stored, and whether it is a voting member
// rather than just someone the node heard from.
type PeerView struct {
	Known     bool
	LastIndex uint64
	LastSeen  time.Time
}

// PeerStateView is a node's peer state as it would persist or send it.
type PeerStateView struct {
	KnownPeers  []string
	ClusterSize int
}

// SnapshotView is the content of a snapshot file.
type SnapshotView struct {
	LastTerm, LastIndex uint64
	PeerState, Data     []byte
}

// Subjects are the subjects a node's group uses: candidates ask for votes
// on Vote and this node's vote answers arrive on VoteReply; the leader
// publishes append entries on Append and this node's answers to them
// arrive on AppendResp; followers forward proposals to Propose and peer
// removals to RemovePeer.
type Subjects struct {
	Vote, VoteReply, Append, AppendResp, Propose, RemovePeer string
}

// Sub names the subscription an append entry is delivered on. The zero Sub
// is "no subscription": a replay of the node's own log at startup.
type Sub struct{ s transport.Subscription }

// SubOf wraps a node's subscription.
func SubOf(s transport.Subscription) Sub { return Sub{s} }

// Subscription is the wrapped subscription, nil for the zero Sub.
func (s Sub) Subscription() transport.Subscription { return s.s }

// IsZero reports whether s is the replay subscription.
func (s Sub) IsZero() bool { return s.s == nil }

// CatchupHandle holds on to one catchup of a node, so a test can put it
// back after the node dropped it (the reference tests assign n.catchup).
// What it holds is raftport's business.
type CatchupHandle struct {
	held any
	sub  Sub
}

// HoldCatchup makes a handle on held, whose stream arrives on sub; a nil
// held is "no catchup".
func HoldCatchup(held any, sub Sub) CatchupHandle { return CatchupHandle{held, sub} }

// Held is what the handle holds, nil when there was no catchup.
func (h CatchupHandle) Held() any { return h.held }

// Sub is the subscription the held catchup's stream arrives on.
func (h CatchupHandle) Sub() Sub { return h.sub }
