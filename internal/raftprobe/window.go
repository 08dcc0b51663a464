package raftprobe

import (
	"fmt"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// Window is the test window on one node. E is raftport.Entry, S is
// raftport.RaftState.
//
// Every method takes the node lock itself unless its name ends in Locked;
// a test that needs several steps under one lock calls Lock and Unlock
// around them, as the reference tests do.
type Window[E, S any] interface {
	Lock()
	Unlock()

	// Readings.
	Replication() ReplicationState[S]
	ReplicationLocked() ReplicationState[S]
	StartupFlags() StartupFlags
	Catchup() (CatchupView, bool)
	CatchupSub() Sub            // zero when not catching up
	CatchupFollowers() []string // the followers a leader streams its log to
	CurrentPeerState() PeerStateView
	PeerViews() map[string]PeerView
	KnownPeers() []string
	SelectNextLeader() string
	PeerStateEntry() *E // the peer state as the EntryPeerState a leader sends
	Subjects() Subjects
	AppendSubject() string
	AESub() Sub
	Acks() map[uint64][]string
	PendingProposals() int
	PendingResponses() int
	PendingAppendEntries() int
	ElectionTimerReset() time.Time
	LostQuorum() bool
	OutOfResources() bool
	ElectionTimerResetLocked() time.Time
	// ElectionTimeoutDraw and CampaignTimeoutDraw each draw one timeout
	// from the node's timing as the node arms its election timer with:
	// after hearing from a leader, and before a campaign.
	ElectionTimeoutDraw() time.Duration
	CampaignTimeoutDraw() time.Duration

	// Storage.
	StoreDir() string
	SnapshotsDir() string
	SnapFile() string // "" when the node has no snapshot
	WAL() storage.WAL
	WALState() storage.State
	ReplaceWAL(wrap func(storage.WAL) storage.WAL)
	LoadEntry(index uint64) (AppendEntrySpec[E], error)
	StoreToWAL(msg *AppendEntryMsg[E]) error
	StoreToWALLocked(msg *AppendEntryMsg[E]) error
	TruncateWAL(term, index uint64)
	TruncateWALLocked(term, index uint64)
	ResetWAL()
	LoadLastSnapshot() (SnapshotView, error)
	InstallSnapshotInternal(snap SnapshotView) error
	SetupLastSnapshot() error

	// Staging: overwrite state the way the reference tests assign fields.
	SetTerm(term uint64)
	SetTermLocked(term uint64)
	SetCommit(index uint64)
	SetProcessed(index uint64)
	SetApplied(index uint64)
	SetLogPositionLocked(term, pterm, pindex, commit uint64)
	SetInitializing(on bool)
	SetScaleUp(on bool)
	SetScaleUpTime(t time.Time) // the zero time ends the scale-up grace
	SetSnapshotting(on bool)
	SetLeaderState(upToDate bool)
	SetWriteErr(err error)
	SetPeerKnown(peer string, known bool) error
	SetCatchupProgress(pindex uint64, active time.Time) error
	ForceState(state S) // no transition at all
	ClearElectionTimerReset()
	CachePendingLocked(index uint64, spec AppendEntrySpec[E])
	AddCatchupInProgress(name string)
	QueueProposalAndResponse()
	HoldCatchup() CatchupHandle
	RestoreCatchup(h CatchupHandle)

	// Protocol steps, as the run loop would take them.
	StartRun()
	RunAsLeader()
	RunAsCandidate()
	ProcessAppendEntry(msg *AppendEntryMsg[E], via Sub) error
	QueueAppendEntry(msg *AppendEntryMsg[E], via Sub) error
	ProcessAppendEntries()
	ProcessAppendEntryResponse(r ResponseSpec)
	TrackResponse(r ResponseSpec) bool
	ProcessVoteRequest(req VoteRequestSpec) VoteResponseSpec
	RequestVote()
	SwitchToFollower(leader string)
	SwitchToCandidate()
	SwitchToLeader()
	SwitchStateLocked(state S) bool // reports whether leadership changed
	Stepdown(newLeader string)
	ResetElectLocked(et time.Duration)
	UpdateLeader(leader string)
	TrackPeer(peer string) error
	AddPeer(peer string) error
	BuildAppendEntryLocked(entries []*E) (*AppendEntryMsg[E], error)
	SendAppendEntry(entries []*E)
	ApplyCommit(index uint64) error
	CreateCatchup(msg *AppendEntryMsg[E]) (inbox string, err error)
	CatchupFollower(r ResponseSpec)
	CancelCatchup()
}

// Codec is raftport's wire format for the messages tests forge and watch.
type Codec[E any] interface {
	EncodeAppendEntry(spec AppendEntrySpec[E]) (*AppendEntryMsg[E], error)
	// EncodeAppendEntryInto encodes into b when it has room for the whole
	// message, into a new buffer otherwise.
	EncodeAppendEntryInto(spec AppendEntrySpec[E], b []byte) ([]byte, error)
	DecodeAppendEntry(msg []byte) (AppendEntrySpec[E], error)
	EncodeAppendEntryResponse(r ResponseSpec) []byte
	// DecodeAppendEntryResponse reads an answer that asked to be answered
	// on reply (a catchup inbox when the follower wants catching up).
	DecodeAppendEntryResponse(msg []byte, reply string) (ResponseSpec, error)
	EncodeVoteRequest(req VoteRequestSpec) []byte
	DecodeVoteRequest(msg []byte, reply string) (VoteRequestSpec, error)
	EncodeVoteResponse(resp VoteResponseSpec) []byte
	DecodeVoteResponse(msg []byte) (VoteResponseSpec, error)
}

// Limits are the node's constants and sentinel errors that tests check
// against.
type Limits struct {
	// PendingCacheDropThreshold is how many entries a leader caches in
	// memory before it stops caching and reloads from the log.
	PendingCacheDropThreshold int
	// The append-entry encoding's errors.
	ErrLeaderLen, ErrTooManyEntries, ErrBadAppendEntry error
}

// Port is what raftport registers: the window on its nodes, a way to create
// a node without starting its run loop, its codec and its limits. server,
// cfg and the node are raftport's *Server, *RaftConfig and RaftNode, typed
// any here because this package cannot name them.
type Port[E, S any] interface {
	Open(node any) (Window[E, S], bool)
	InitNode(server any, account string, cfg any) (node any, err error)
	Codec() Codec[E]
	Limits() Limits
}

var registry struct {
	sync.Mutex
	port any
}

// Register installs raftport's port; raftport calls it from its init.
func Register[E, S any](p Port[E, S]) {
	registry.Lock()
	defer registry.Unlock()
	registry.port = p
}

// Get returns the registered port. It panics when raftport is not linked
// in or was registered with other types: a programming error in a test.
func Get[E, S any]() Port[E, S] {
	registry.Lock()
	defer registry.Unlock()
	p, ok := registry.port.(Port[E, S])
	if !ok {
		panic(fmt.Sprintf("raftprobe: no port registered for %T, %T (import raftport)", *new(E), *new(S)))
	}
	return p
}

// Of opens the window on node, panicking on a node raftport did not make.
func Of[E, S any](node any) Window[E, S] {
	w, ok := Get[E, S]().Open(node)
	if !ok {
		panic(fmt.Sprintf("raftprobe: %T is not a raftport node", node))
	}
	return w
}
