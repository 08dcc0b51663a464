package raftport

import (
	"context"
	"errors"
	"fmt"
	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// RaftNode is one member of a Raft group, as the NATS server's RaftNode.
// It is made of the smaller interfaces below, one per concern.
type RaftNode interface {
	Proposer
	Applier
	Leadership
	Membership
	Lifecycle
}

// Proposer puts entries into the log. Only the leader accepts them.
type Proposer interface {
	ProposeWait(ctx context.Context, entry []byte) (Outcome, error)
	Propose(entry []byte) error
	ForwardProposal(entry []byte) error
	ProposeMulti(entries []*Entry) error
}

// Applier hands committed entries to the state machine and learns how
// far it got. The application must call Applied for every CommittedEntry
// it takes from ApplyQ, including those without Entries.
type Applier interface {
	ApplyQ() *IPQueue[*CommittedEntry]
	Applied(index uint64) (entries uint64, bytes uint64)
	PauseApply() error
	Processed(index uint64, applied uint64) (entries uint64, bytes uint64)
	ResumeApply()
	DrainAndReplaySnapshot() bool
	// Snapshots compact the log into the state machine's state.
	InstallSnapshot(snap []byte, force bool) error
	NeedSnapshot() bool
	CreateSnapshotCheckpoint(force bool) (RaftNodeCheckpoint, error)
	SendSnapshot(snap []byte) error
}

// Leadership tells who leads and how current this node is.
type Leadership interface {
	State() RaftState
	Leader() bool
	Term() uint64
	LeaderSince() *time.Time
	GroupLeader() string
	StepDown(preferred ...string) error
	Leaderless() bool
	HadPreviousLeader() bool
	Quorum() bool
	Progress() (index, commit, applied uint64)
	Current() bool
	Healthy() bool
	Size() (entries, bytes uint64)
	Campaign() error
	CampaignImmediately() error
	SetObserver(isObserver bool)
	IsObserver() bool
	LeadChangeC() <-chan bool
}

// Membership changes and reports the group's peers.
type Membership interface {
	ID() string
	Peers() []*Peer
	Group() string
	ProposeAddPeer(peer string) error
	ClusterSize() int
	ProposeRemovePeer(peer string) error
	MembershipChangeInProgress() bool
	ProposeKnownPeers(knownPeers []string)
	AdjustClusterSize(csz int) error
	UpdateKnownPeers(knownPeers []string)
	AdjustBootClusterSize(csz int) error
}

// Lifecycle starts, stops and deletes a node and its subscriptions.
type Lifecycle interface {
	Created() time.Time
	QuitC() <-chan struct{}
	Stop()
	IsDeleted() bool
	WaitForStop()
	RecreateInternalSubs() error
	Delete()
	GetTrafficAccountName() string
	IsSystemAccount() bool
}

// RaftConfig describes one node of a group.
type RaftConfig struct {
	// Name is the group's name; Store the directory for tav.idx,
	// peers.idx and snapshots/.
	Name, Store string
	// Log is the node's log. The node owns it from start to Stop, which
	// closes it; see the package documentation for restarting on kept
	// storage.
	Log storage.WAL
	// Track checks the host's resource limits; an Observer never
	// campaigns.
	Track, Observer bool

	// Recovering is set for a group that restarts, or is first seen after
	// a catchup: an empty log then means lost data, not a new group. A
	// Store that holds a term and vote file (tav.idx) from an earlier run
	// counts as a restart whatever Recovering says.
	Recovering bool
	// ScaleUp marks a new, empty member of a group being scaled up: it may
	// not campaign until its log holds something.
	ScaleUp bool
}

// RaftNodeCheckpoint prepares a snapshot without holding up the node:
// load the previous snapshot and the entries since, build the new state,
// then InstallSnapshot or Abort.
type RaftNodeCheckpoint interface {
	AppendEntriesSeq() iter.Seq2[LogEntry, error]
	LoadLastSnapshot() (snap []byte, err error)
	InstallSnapshot(data []byte) (uint64, error)
	Abort()
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

// Wire sizes shared with the NATS server's Raft.
const (
	idLen, termLen         = 8, 8
	termVoteLen            = idLen + termLen
	appendEntryBaseLen     = idLen + 4*8 + 2
	appendEntryResponseLen = 24 + 1
	voteRequestLen         = 24 + idLen
	voteResponseLen        = 8 + 8 + 1
	minSnapshotLen         = 28
)

// What a store directory holds, as the NATS server names it.
const (
	termVoteFile, peerStateFile = "tav.idx", "peers.idx"
	snapshotsDir, snapFileT     = "snapshots", "snap.%d.%d"
)

// No leader known, no vote cast.
const noLeader, noVote = "", ""

// Pending append-entry cache limits: past the drop threshold the leader
// stops caching and reloads from the WAL.
const (
	paeDropThreshold = 20_000
	paeWarnThreshold = 10_000
	paeWarnModulo    = 5_000
)

// The exported errors under the names the package uses inside.
var (
	errNotLeader, errNodeClosed            = ErrNotLeader, ErrNodeClosed
	errMembershipChange, errRemoveLastNode = ErrMembershipChange, ErrRemoveLastNode
)

// Errors of the node's own state.
var (
	errAlreadyLeader = errors.New("raft: already leader")
	errNilCfg        = errors.New("raft: no config given")
	errNodeRemoved   = errors.New("raft: peer was removed")
)

// Errors of requests the node refuses.
var (
	errTooManyPrefs      = errors.New("raft: stepdown requires at most one preferred new leader")
	errAdjustBootCluster = errors.New("raft: can not adjust boot peer size on established group")
	errNoInternalClient  = errors.New("raft: no internal client")
)

// Errors of the log and the state files.
var (
	errEntryLoadFailed  = errors.New("raft: could not load entry from WAL")
	errEntryStoreFailed = errors.New("raft: could not store entry to WAL")
	errCorruptPeers     = errors.New("raft: corrupt peer state")
	errNoPeerState      = errors.New("raft: no peerstate")
)

// Errors of snapshots.
var (
	errBadSnapName     = errors.New("raft: snapshot name could not be parsed")
	errNoSnapAvailable = errors.New("raft: no snapshot available")
	errSnapInProgress  = errors.New("raft: snapshot is already in progress")
	errSnapAborted     = errors.New("raft: snapshot was aborted")
)

// More errors of snapshots, and those of the wire format.
var (
	errCatchupsRunning = errors.New("raft: snapshot can not be installed while catchups running")
	errSnapshotCorrupt = errors.New("raft: snapshot corrupt")
	errLeaderLen       = fmt.Errorf("raft: leader should be exactly %d bytes", idLen)
	errTooManyEntries  = errors.New("raft: append entry can contain a max of 64k entries")
	errBadAppendEntry  = errors.New("raft: append entry corrupt")
)

// msgHandler is a subscription callback that also learns which
// subscription delivered the message (catchup or live traffic).
type msgHandler func(sub transport.Subscription, subject, reply string, msg []byte)

// raft is the node. One goroutine (run) owns the protocol state machine;
// the transport's callbacks only decode and queue. Its fields are grouped
// by concern; the run loop's queues and the host's handles are set once,
// at creation.
type raft struct {
	sync.RWMutex

	// Identity and host: node ID, group name, store directory, the
	// account whose traffic the group uses and the one behind conn.
	id, group, sd       string
	accName, trafficAcc string
	s                   *Server
	created             time.Time
	timing              Timing
	wg                  sync.WaitGroup // goroutines to wait for on stop

	// The log and what is persisted beside it: bytes held (to spare
	// State calls), the last write error (once set, nothing more is
	// written), and the encoded term-and-vote and peer set awaiting their
	// write.
	wal      storage.WAL
	wtype    walKind
	bytes    uint64
	werr     error
	wtv, wps []byte
	snapfile string

	// Positions in the log: the term, the last entry's term and index,
	// the commit, what the state machine processed and applied, and the
	// applied index of the last snapshot.
	term, pterm, pindex, commit  uint64
	processed, applied, papplied uint64
	// The commit when applies were paused; the index to signal the
	// upper layer at once applied after winning (0: off); an uncommitted
	// membership change (0: none).
	hcommit, aflr, membChangeIndex uint64

	// Roles: our state, whom we follow and voted for, and the lock-free
	// flags others read: leading with everything of our term applied, a
	// leader known now, ever, the system account in use.
	state                                     atomic.Int32
	leader, vote                              string
	leaderState, hasleader, pleader, isSysAcc atomic.Bool
	leaderSince                               atomic.Pointer[time.Time]

	// abstain is set when this node may have lost log entries it had
	// acknowledged (its log was cut or found empty on restart): until a
	// live append entry from a current leader shows its log holds that
	// leader's, its votes (its own included) count as empty, so they never
	// help elect a leader that lacks what it lost.
	abstain bool

	// Membership and quorum: cluster size and quorum, every peer (us
	// included), recently removed peers, acks per uncommitted index, and
	// the leader's entries awaiting commit and the memory its batches are
	// encoded into.
	csz, qn int
	peers   map[string]*lps
	removed map[string]time.Time
	acks    protocol.Acks
	pae     map[uint64]*appendEntry
	batches batchMemory
	extSt   extensionState

	// Time: the election timer and its last reset (for tests), the last
	// activity, the last lost quorum, the last scale-up.
	elect                     *time.Timer
	etlr, active, llqrt, lsut time.Time

	// The run loop's queues and signals. inbox is the doorbell that reqs,
	// votes, prop, entry and resp ring (inbox.go).
	inbox chan struct{}
	prop  *IPQueue[*proposedEntry]
	leadc chan bool
	entry *IPQueue[*appendEntry]
	resp  *IPQueue[*appendEntryResponse]
	quit  chan struct{}
	apply *IPQueue[*CommittedEntry]
	reqs  *IPQueue[*voteRequest]
	votes *IPQueue[*voteResponse]

	// Deferred durability (durability.go): writes the syncer has yet to
	// see durable, whether it runs, and our log's unsynced suffix.
	synced durableLog
	durq   *IPQueue[durableWrite]

	// Catchup: ours from a leader (the streams are in cu).
	catchup *catchupState

	// The transport: the connection (and a lock-free view of it for
	// sends made with or without the lock), the subjects and the live
	// subscriptions, for RecreateInternalSubs.
	conn     transport.Conn
	sendConn atomic.Pointer[transport.Conn]
	subjects
	aesub transport.Subscription
	subs  []transport.Subscription

	// Switches: resource tracking, debug logging (debugOn mirrors dflag
	// for debug(), which runs with and without the lock), a leadership
	// transfer under way, behind at the last health check, maybe leading
	// before a scale-up, applies paused, observer, new group, new member
	// of a scale-up, deleted, snapshotting.
	track, dflag, lxfer, hcbehind, maybeLeader       bool
	paused, observer, initializing, scaleUp, deleted bool
	snapshotting                                     bool
	debugOn, runStarted                              atomic.Bool

	// Shutdown runs once, by run or by Stop when no run loop started;
	// identical warnings are rate-limited as the reference server does.
	teardown sync.Once
	warnMu   sync.Mutex
	warned   map[string]time.Time

	// Per-concern state.
	outcomes outcomeTracker // the proposals ProposeWait waits on
	ap       appendTrack    // append shell: recovery counters and held entries (run.go)
	cu       catchupLedger  // catchup streams: those we send as leader, ours as follower
}

// subjects are the group's NATS subjects and our inboxes on them.
type subjects struct {
	psubj, rpsubj string // proposals and peer removals forwarded to the leader
	vsubj, vreply string // vote requests, and our inbox for the responses
	asubj, areply string // append entries, and our inbox for the responses
}
