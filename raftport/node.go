package raftport

import (
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// RaftNode is one member of a Raft group, as the NATS server's RaftNode.
type RaftNode interface {
	Propose(entry []byte) error
	ProposeMulti(entries []*Entry) error
	ForwardProposal(entry []byte) error
	InstallSnapshot(snap []byte, force bool) error
	CreateSnapshotCheckpoint(force bool) (RaftNodeCheckpoint, error)
	SendSnapshot(snap []byte) error
	NeedSnapshot() bool
	Applied(index uint64) (entries uint64, bytes uint64)
	Processed(index uint64, applied uint64) (entries uint64, bytes uint64)
	State() RaftState
	Size() (entries, bytes uint64)
	Progress() (index, commit, applied uint64)
	Leader() bool
	LeaderSince() *time.Time
	Quorum() bool
	Current() bool
	Healthy() bool
	Term() uint64
	Leaderless() bool
	GroupLeader() string
	HadPreviousLeader() bool
	StepDown(preferred ...string) error
	SetObserver(isObserver bool)
	IsObserver() bool
	Campaign() error
	CampaignImmediately() error
	ID() string
	Group() string
	Peers() []*Peer
	ProposeKnownPeers(knownPeers []string)
	UpdateKnownPeers(knownPeers []string)
	ProposeAddPeer(peer string) error
	ProposeRemovePeer(peer string) error
	MembershipChangeInProgress() bool
	AdjustClusterSize(csz int) error
	AdjustBootClusterSize(csz int) error
	ClusterSize() int
	ApplyQ() *IPQueue[*CommittedEntry]
	PauseApply() error
	ResumeApply()
	DrainAndReplaySnapshot() bool
	LeadChangeC() <-chan bool
	QuitC() <-chan struct{}
	Created() time.Time
	Stop()
	WaitForStop()
	Delete()
	IsDeleted() bool
	RecreateInternalSubs() error
	IsSystemAccount() bool
	GetTrafficAccountName() string
}

// RaftNodeCheckpoint prepares a snapshot without holding up the node:
// load the previous snapshot and the entries since, build the new state,
// then InstallSnapshot or Abort.
type RaftNodeCheckpoint interface {
	LoadLastSnapshot() (snap []byte, err error)
	AppendEntriesSeq() iter.Seq2[*appendEntry, error]
	Abort()
	InstallSnapshot(data []byte) (uint64, error)
}

// RaftConfig describes one node of a group.
type RaftConfig struct {
	Name     string      // group name
	Store    string      // directory for tav.idx, peers.idx and snapshots/
	Log      storage.WAL // the node's log; the node closes it on Stop
	Track    bool        // check the host's resource limits
	Observer bool        // never campaign

	// Recovering is set for a group that restarts, or is first seen after a
	// catchup: an empty log then means lost data, not a new group.
	Recovering bool
	// ScaleUp marks a new, empty member of a group being scaled up: it may
	// not campaign until its log holds something.
	ScaleUp bool
}

// Timing holds every interval the node waits on. Tests shrink them to run
// in milliseconds; zero fields take the defaults.
type Timing struct {
	MinElectionTimeout   time.Duration
	MaxElectionTimeout   time.Duration
	MinCampaignTimeout   time.Duration
	MaxCampaignTimeout   time.Duration
	HeartbeatInterval    time.Duration
	LostQuorumInterval   time.Duration
	LostQuorumCheck      time.Duration
	ObserverModeInterval time.Duration
	PeerRemoveTimeout    time.Duration
}

// DefaultTiming is the reference server's timing.
func DefaultTiming() Timing {
	return Timing{
		MinElectionTimeout:   4 * time.Second,
		MaxElectionTimeout:   9 * time.Second,
		MinCampaignTimeout:   100 * time.Millisecond,
		MaxCampaignTimeout:   800 * time.Millisecond,
		HeartbeatInterval:    time.Second,
		LostQuorumInterval:   10 * time.Second,
		LostQuorumCheck:      10 * time.Second,
		ObserverModeInterval: 48 * time.Hour,
		PeerRemoveTimeout:    5 * time.Minute,
	}
}

// withDefaults fills the zero fields of t from DefaultTiming.
func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	fill := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&t.MinElectionTimeout, d.MinElectionTimeout)
	fill(&t.MaxElectionTimeout, d.MaxElectionTimeout)
	fill(&t.MinCampaignTimeout, d.MinCampaignTimeout)
	fill(&t.MaxCampaignTimeout, d.MaxCampaignTimeout)
	fill(&t.HeartbeatInterval, d.HeartbeatInterval)
	fill(&t.LostQuorumInterval, d.LostQuorumInterval)
	fill(&t.LostQuorumCheck, d.LostQuorumCheck)
	fill(&t.ObserverModeInterval, d.ObserverModeInterval)
	fill(&t.PeerRemoveTimeout, d.PeerRemoveTimeout)
	return t
}

// Wire and file constants shared with the NATS server's Raft.
const (
	idLen                  = 8
	appendEntryBaseLen     = idLen + 4*8 + 2
	appendEntryResponseLen = 24 + 1
	voteRequestLen         = 24 + idLen
	voteResponseLen        = 8 + 8 + 1
	minSnapshotLen         = 28
	termLen                = 8
	termVoteLen            = idLen + termLen

	snapshotsDir  = "snapshots"
	snapFileT     = "snap.%d.%d"
	peerStateFile = "peers.idx"
	termVoteFile  = "tav.idx"

	noLeader = ""
	noVote   = ""

	// Pending append-entry cache limits: past the drop threshold the
	// leader stops caching and reloads from the WAL.
	paeDropThreshold = 20_000
	paeWarnThreshold = 10_000
	paeWarnModulo    = 5_000
)

var (
	errNotLeader         = errors.New("raft: not leader")
	errAlreadyLeader     = errors.New("raft: already leader")
	errNilCfg            = errors.New("raft: no config given")
	errCorruptPeers      = errors.New("raft: corrupt peer state")
	errEntryLoadFailed   = errors.New("raft: could not load entry from WAL")
	errEntryStoreFailed  = errors.New("raft: could not store entry to WAL")
	errNodeClosed        = errors.New("raft: node is closed")
	errNodeRemoved       = errors.New("raft: peer was removed")
	errBadSnapName       = errors.New("raft: snapshot name could not be parsed")
	errNoSnapAvailable   = errors.New("raft: no snapshot available")
	errSnapInProgress    = errors.New("raft: snapshot is already in progress")
	errSnapAborted       = errors.New("raft: snapshot was aborted")
	errCatchupsRunning   = errors.New("raft: snapshot can not be installed while catchups running")
	errSnapshotCorrupt   = errors.New("raft: snapshot corrupt")
	errTooManyPrefs      = errors.New("raft: stepdown requires at most one preferred new leader")
	errNoPeerState       = errors.New("raft: no peerstate")
	errAdjustBootCluster = errors.New("raft: can not adjust boot peer size on established group")
	errLeaderLen         = fmt.Errorf("raft: leader should be exactly %d bytes", idLen)
	errTooManyEntries    = errors.New("raft: append entry can contain a max of 64k entries")
	errBadAppendEntry    = errors.New("raft: append entry corrupt")
	errNoInternalClient  = errors.New("raft: no internal client")
	errMembershipChange  = errors.New("raft: membership change in progress")
	errRemoveLastNode    = errors.New("raft: cannot remove the last peer")
)

// msgHandler is a subscription callback that also learns which
// subscription delivered the message (catchup or live traffic).
type msgHandler func(sub transport.Subscription, subject, reply string, msg []byte)

// raft is the node. One goroutine (run) owns the protocol state machine;
// the transport's callbacks only decode and queue.
type raft struct {
	sync.RWMutex

	created time.Time
	accName string         // account whose traffic this group's messages travel in
	conn    transport.Conn // the connection of that account
	group   string
	sd      string // directory for the log, snapshots and state files
	id      string
	wg      sync.WaitGroup // goroutines to wait for on stop
	timing  Timing

	wal   storage.WAL
	wtype walKind
	bytes uint64 // bytes in the WAL, kept here to spare State() calls
	werr  error  // last write error; once set the node stops writing

	state       atomic.Int32
	leaderState atomic.Bool // a leader that has applied everything of its term
	leaderSince atomic.Pointer[time.Time]
	snapfile    string

	csz   int             // cluster size
	qn    int             // quorum
	peers map[string]*lps // every peer, us included

	removed map[string]time.Time
	acks    map[uint64]map[string]struct{} // index -> peers that stored it
	pae     map[uint64]*appendEntry        // pending append entries, by index

	elect  *time.Timer
	etlr   time.Time // last election-timer reset, for tests
	active time.Time // last activity, e.g. a heartbeat
	llqrt  time.Time // last time quorum was lost
	lsut   time.Time // when the cluster size last grew

	term      uint64
	pterm     uint64 // term of the last entry in the log
	pindex    uint64 // index of the last entry in the log
	commit    uint64
	processed uint64
	applied   uint64
	papplied  uint64 // applied index of the last snapshot

	membChangeIndex uint64 // uncommitted membership change, 0 when none

	aflr uint64 // as leader: signal once this index is applied; 0 = off

	leader string
	vote   string

	// abstain is set when this node may have lost log entries it had
	// acknowledged (its log was cut or found empty on restart): until a
	// live append entry from a current leader shows its log holds that
	// leader's, its votes (its own included) count as empty, so they never
	// help elect a leader that lacks what it lost.
	abstain bool

	s *Server

	hasleader atomic.Bool
	pleader   atomic.Bool // the group has had a leader at some point
	isSysAcc  atomic.Bool

	extSt extensionState

	track bool
	dflag bool

	psubj  string
	rpsubj string
	vsubj  string
	vreply string
	asubj  string
	areply string

	aesub transport.Subscription
	subs  []transport.Subscription // every live subscription, for RecreateInternalSubs

	wtv []byte // encoded term and vote awaiting their write to disk
	wps []byte // encoded peer set awaiting its write to disk

	catchup *catchupState

	hcommit uint64 // commit when applies were paused

	prop  *IPQueue[*proposedEntry]
	entry *IPQueue[*appendEntry]
	resp  *IPQueue[*appendEntryResponse]
	apply *IPQueue[*CommittedEntry]
	reqs  *IPQueue[*voteRequest]
	votes *IPQueue[*voteResponse]
	leadc chan bool
	quit  chan struct{}

	lxfer        bool // leadership transfer under way
	hcbehind     bool // behind at the last health check
	maybeLeader  bool
	paused       bool
	observer     bool
	initializing bool
	scaleUp      bool
	deleted      bool
	snapshotting bool

	// Foundation (N1): the traffic account behind conn; a lock-free view of
	// conn for sends made with or without the lock; the once-only teardown
	// that Stop runs itself when no run loop was started; and the
	// rate-limiting of identical warnings, as the reference server does.
	trafficAcc string
	sendConn   atomic.Pointer[transport.Conn]
	runStarted atomic.Bool
	teardown   sync.Once
	warnMu     sync.Mutex
	warned     map[string]time.Time
	// debugOn mirrors dflag for debug(), which runs with and without the
	// lock while SetDebug may change the flag.
	debugOn atomic.Bool

	cu catchupLedger // catchup streams: those we send as leader, ours as follower
}
