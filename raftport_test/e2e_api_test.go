package raftport_test

// End-to-end tests of raftport's public API and of the host's registry:
// the names a host maps node IDs to, bootstrapping, the node registry,
// host-wide step-downs, leader transfers and shutdown, debug and warning
// logs, and a node's accessors as it goes from follower to leader and
// back. Most drive nodes by hand through the test window, so that they
// take milliseconds and see every step exactly.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// apiLogHost is a cluster with one host, S-1 of cluster R1S, whose log
// the test reads; debug logging is off until the test turns it on.
func apiLogHost(t *testing.T, adjust func(*raftport.ServerConfig)) (*cluster, *raftport.Server, *logCapture) {
	t.Helper()
	c := createRaftCluster(t, "R1S", 0)
	logs := &logCapture{}
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) {
		cfg.Logger, cfg.Debug = slog.New(logs), false
		adjust(cfg)
	})
	return c, s, logs
}

// nodeLine is a node's log line in the reference's "RAFT [id - group]" form.
func nodeLine(s *raftport.Server, group, format string, args ...any) string {
	return fmt.Sprintf("RAFT [%s - %s] ", s.ID(), group) + fmt.Sprintf(format, args...)
}

// leadByHand makes a stepped node an up-to-date leader: candidate, leader
// with its no-op entry at index 1, which it then commits and applies.
func (st *stepped) leadByHand() {
	st.t.Helper()
	st.p.SwitchToCandidate()
	st.p.SwitchToLeader()
	st.commitTo(1)
	st.applied(1, inState(raftport.Leader), reportsLeader(true))
}

// closedQuit reports whether a node's quit channel is closed.
func closedQuit(n raftport.RaftNode) bool {
	select {
	case <-n.QuitC():
		return true
	default:
		return false
	}
}

// TestE2EHostRegistryAndBootstrap checks the host side of a node's life:
// node IDs map to the names and clusters of the hosts the configuration
// lists and to "" otherwise; bootstrapping refuses a missing config and a
// malformed peer; a node registers under its group while it exists, with
// its group name and creation time, and a stop takes it off the registry
// and closes it.
func TestE2EHostRegistryAndBootstrap(t *testing.T) {
	other := raftport.NodeID("S-2")
	c, s, _ := apiLogHost(t, func(cfg *raftport.ServerConfig) {
		cfg.Peers = map[string]raftport.PeerInfo{other: {Name: "S-2", Cluster: "R2S"}}
	})
	require_Equal(t, s.ServerNameForNode(s.ID()), "S-1")
	require_Equal(t, s.ClusterNameForNode(s.ID()), "R1S")
	require_Equal(t, s.ServerNameForNode(other), "S-2")
	require_Equal(t, s.ClusterNameForNode(other), "R2S")
	require_Equal(t, s.ServerNameForNode(nats0), "")
	require_Equal(t, s.ClusterNameForNode(nats0), "")

	err := s.BootstrapRaftNode(nil, []string{s.ID()}, true)
	require_Error(t, err)
	require_Equal(t, err.Error(), "raft: no config given")
	cfg := &raftport.RaftConfig{Name: "REG", Store: c.tempDir(), Log: storage.NewMemWAL()}
	err = s.BootstrapRaftNode(cfg, []string{s.ID(), "short"}, true)
	require_Error(t, err)
	require_Equal(t, err.Error(), `raft: illegal peer: "short"`)

	require_Equal(t, s.NumRaftNodes(), 0)
	require_True(t, s.LookupRaftNode("REG") == nil)
	before := time.Now()
	st := c.stepNodeOn(s, nodeSetup{group: "REG"})
	after := time.Now()
	other2 := c.stepNodeOn(s, nodeSetup{group: "REG2"})
	require_Equal(t, s.NumRaftNodes(), 2)
	require_True(t, s.LookupRaftNode("REG") == st.n)
	require_True(t, s.LookupRaftNode("REG2") == other2.n)
	require_True(t, s.LookupRaftNode("NONE") == nil)
	require_Equal(t, st.n.Group(), "REG")
	require_False(t, st.n.Created().Before(before))
	require_False(t, st.n.Created().After(after))

	// A node whose run loop never started is torn down by Stop itself.
	require_False(t, closedQuit(st.n))
	st.n.Stop()
	require_Equal(t, st.n.State(), raftport.Closed)
	require_Equal(t, st.n.State().String(), "CLOSED")
	require_True(t, closedQuit(st.n))
	require_Equal(t, s.NumRaftNodes(), 1)
	require_True(t, s.LookupRaftNode("REG") == nil)
	require_True(t, s.LookupRaftNode("REG2") == other2.n)
	// A second stop changes nothing.
	st.n.Stop()
	require_Equal(t, s.NumRaftNodes(), 1)
}

// TestE2ENodeAccessorsThroughLeadership checks what a node reports as it
// goes from a fresh follower to an up-to-date leader and back: its state
// names, whether it has or had a leader, since when it leads, who may
// resize the group, how it sees its peers, and the peer lists it takes.
func TestE2ENodeAccessorsThroughLeadership(t *testing.T) {
	c, s, _ := apiLogHost(t, func(*raftport.ServerConfig) {})
	st := c.stepNodeOn(s, nodeSetup{group: "ROLES", peers: []string{s.ID(), nats0, nats1}})
	n := st.n

	require_Equal(t, n.State().String(), "FOLLOWER")
	require_True(t, n.Leaderless())
	require_False(t, n.HadPreviousLeader())
	require_True(t, n.LeaderSince() == nil)

	// A group that never had a leader may be resized at boot, not by hand.
	require_NoError(t, n.AdjustBootClusterSize(4))
	require_Equal(t, n.ClusterSize(), 4)
	require_NoError(t, n.AdjustBootClusterSize(3))
	require_Equal(t, n.ClusterSize(), 3)
	require_Error(t, n.AdjustClusterSize(5), raftport.ErrNotLeader)
	require_Equal(t, n.ClusterSize(), 3)
	require_Error(t, n.ProposeMulti(sampleEntries()), raftport.ErrNotLeader)

	st.p.SwitchToCandidate()
	require_Equal(t, n.State().String(), "CANDIDATE")
	st.p.SwitchToLeader()
	require_Equal(t, n.State().String(), "LEADER")
	require_False(t, n.Leaderless())
	require_True(t, n.HadPreviousLeader())
	// Not up to date until the no-op entry of the term is applied.
	require_True(t, n.LeaderSince() == nil)
	st.commitTo(1)
	st.applied(1, reportsLeader(true))
	since := n.LeaderSince()
	require_True(t, since != nil)
	// It stays what it was while we keep leading.
	require_NoError(t, n.AdjustClusterSize(3))
	require_True(t, n.LeaderSince() != nil && n.LeaderSince().Equal(*since))

	err := n.AdjustBootClusterSize(5)
	require_Error(t, err)
	require_Equal(t, err.Error(), "raft: can not adjust boot peer size on established group")
	require_NoError(t, n.AdjustClusterSize(5))
	require_Equal(t, n.ClusterSize(), 5)
	require_NoError(t, n.AdjustClusterSize(3))
	require_Equal(t, n.ClusterSize(), 3)

	// nats0 stored everything we applied, nats1 nothing: only nats0 is
	// current, and nats1 lags by the one entry committed.
	term := n.Term()
	st.ack(ackFrom(nats0, term, 1, true))
	views := map[string]*raftport.Peer{}
	for _, p := range n.Peers() {
		views[p.ID] = p
	}
	require_Len(t, len(views), 3)
	require_True(t, views[nats0].Current)
	require_Equal(t, views[nats0].Lag, 0)
	require_False(t, views[nats1].Current)
	require_Equal(t, views[nats1].Lag, 1)
	require_True(t, views[s.ID()].Current)

	// The leader takes a batch of proposals for its loop.
	require_NoError(t, n.ProposeMulti([]*raftport.Entry{fooEntry(), fooEntry()}))
	require_Equal(t, st.p.PendingProposals(), 2)

	// Known peers: a proposal takes effect on the leader; an update is
	// local and sizes the group by the list.
	newPeer := raftport.NodeID("S-9")
	n.ProposeKnownPeers([]string{s.ID(), nats0, nats1, newPeer})
	require_Equal(t, n.ClusterSize(), 4)
	require_True(t, slices.Contains(st.p.KnownPeers(), newPeer))
	n.UpdateKnownPeers([]string{s.ID(), nats0})
	require_Equal(t, n.ClusterSize(), 2)
	known := st.p.KnownPeers()
	slices.Sort(known)
	want := []string{s.ID(), nats0}
	slices.Sort(want)
	require_Equal(t, fmt.Sprint(known), fmt.Sprint(want))

	require_NoError(t, n.StepDown())
	require_Equal(t, n.State().String(), "FOLLOWER")
	require_True(t, n.LeaderSince() == nil)
	require_False(t, n.Leader())
	require_True(t, n.HadPreviousLeader())
	// A follower's proposal of known peers changes nothing.
	n.ProposeKnownPeers([]string{s.ID()})
	require_Equal(t, n.ClusterSize(), 2)

	// States past the last have no name.
	require_Equal(t, raftport.RaftState(4).String(), "UNKNOWN")
	require_Equal(t, raftport.RaftState(200).String(), "UNKNOWN")
	require_Equal(t, raftport.EntryPeerState.String(), "PeerState")
	require_Equal(t, raftport.EntryLeaderTransfer.String(), "LeaderTransfer")
	require_Equal(t, raftport.EntryCatchup.String(), "Unknown [7]")
}

// TestE2EHostStepdownAndTransfer checks the host-wide leadership moves: a
// host leading a group gives the lead up on StepdownRaftNodes or
// TransferRaftLeaders and makes its nodes observers; TransferRaftLeaders
// reports whether any node had to move, so a host of followers, a host
// without nodes and no host at all report false.
func TestE2EHostStepdownAndTransfer(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	s1, s2, s3 := c.servers[0], c.servers[1], c.servers[2]

	var none *raftport.Server
	none.StepdownRaftNodes()
	require_False(t, none.TransferRaftLeaders())
	require_False(t, s3.TransferRaftLeaders())
	s3.StepdownRaftNodes()
	require_Equal(t, s3.NumRaftNodes(), 0)

	// s1 leads one group and follows in another.
	lead := c.stepNodeOn(s1, nodeSetup{group: "XFER", peers: []string{s1.ID(), nats0, nats1}})
	lead.leadByHand()
	follow := c.stepNodeOn(s1, nodeSetup{group: "XFER2", peers: []string{s1.ID(), nats0, nats1}})
	// s2 only follows.
	onlyFollow := c.stepNodeOn(s2, nodeSetup{group: "XFER", peers: []string{s2.ID(), nats0, nats1}})

	require_False(t, s2.TransferRaftLeaders())
	require_True(t, onlyFollow.n.IsObserver())
	require_Equal(t, onlyFollow.n.State(), raftport.Follower)

	require_False(t, lead.n.IsObserver())
	require_True(t, s1.TransferRaftLeaders())
	require_Equal(t, lead.n.State(), raftport.Follower)
	require_False(t, lead.n.Leader())
	require_True(t, lead.n.IsObserver())
	require_True(t, follow.n.IsObserver())
	// Nothing leads on s1 any more.
	require_False(t, s1.TransferRaftLeaders())

	// StepdownRaftNodes does the same without reporting.
	down := c.stepNodeOn(s3, nodeSetup{group: "DOWN", peers: []string{s3.ID(), nats0, nats1}})
	down.leadByHand()
	downFollow := c.stepNodeOn(s3, nodeSetup{group: "DOWN2", peers: []string{s3.ID(), nats0, nats1}})
	s3.StepdownRaftNodes()
	require_Equal(t, down.n.State(), raftport.Follower)
	require_False(t, down.n.Leader())
	require_True(t, down.n.IsObserver())
	require_True(t, downFollow.n.IsObserver())
}

// TestE2ENodeLogging checks a node's logs: debug lines only while
// debugging is on, switched on for running nodes by SetDebug, and a
// warning logged once however often it repeats within a second, here for
// an entry the log stores at another index than the entry says, which
// also makes a leader step down.
func TestE2ENodeLogging(t *testing.T) {
	c, s, logs := apiLogHost(t, func(*raftport.ServerConfig) {})
	st := c.stepNodeOn(s, nodeSetup{group: "LOGS"})
	started := nodeLine(s, "LOGS", "Started (cluster size 1, quorum 1)")
	require_Equal(t, logCount(logs, started), 0)
	st.leadByHand()
	require_Equal(t, logCount(logs, nodeLine(s, "LOGS", "Now the leader in term 1")), 0)

	misplaced := aeFrom(s.ID(), 1).after(1, 5).withEntry().wire(t)
	warning := nodeLine(s, "LOGS",
		"Stored index mismatch for &{leader:%s term:1 commit:0 pterm:1 pindex:5 entries: 1}: log put it at 2 while pindex is 1, resetting", s.ID())
	require_Error(t, st.p.StoreToWAL(misplaced))
	require_Equal(t, logCount(logs, warning), 1)
	require_Equal(t, st.n.State(), raftport.Follower)
	require_Equal(t, st.p.WALState().Entries, 0)
	// The log is empty now, so the same entry lands at 1, a different
	// warning; the first one again is not repeated.
	again := nodeLine(s, "LOGS",
		"Stored index mismatch for &{leader:%s term:1 commit:0 pterm:1 pindex:5 entries: 1}: log put it at 1 while pindex is 0, resetting", s.ID())
	require_Error(t, st.p.StoreToWAL(misplaced))
	require_Equal(t, logCount(logs, again), 1)
	require_Error(t, st.p.StoreToWAL(misplaced))
	require_Error(t, st.p.StoreToWAL(misplaced))
	require_Equal(t, logCount(logs, again), 1)
	require_Equal(t, logCount(logs, warning), 1)

	// Debugging switched on reaches the node already there: its shutdown
	// is logged.
	s.SetDebug(true)
	st.n.Stop()
	require_Equal(t, logCount(logs, nodeLine(s, "LOGS", "Shutdown")), 1)

	// A node started now logs its start; switched off again, its shutdown
	// is not.
	later := c.stepNodeOn(s, nodeSetup{group: "LATER"})
	require_Equal(t, logCount(logs, nodeLine(s, "LATER", "Started (cluster size 1, quorum 1)")), 1)
	s.SetDebug(false)
	later.n.Stop()
	require_Equal(t, logCount(logs, nodeLine(s, "LATER", "Shutdown")), 0)
	require_Equal(t, logCount(logs, started), 0)

	var none *raftport.Server
	none.SetDebug(true)
}

// slowWAL is a log whose Close and Delete take a while, and which says
// when they are done, to show that a stop is waited for to its end.
type slowWAL struct {
	storage.WAL
	closed, deleted atomic.Bool
}

const slowWALDelay = 20 * time.Millisecond

func (w *slowWAL) Close() error {
	time.Sleep(slowWALDelay)
	err := w.WAL.Close()
	w.closed.Store(true)
	return err
}

func (w *slowWAL) Delete() error {
	time.Sleep(slowWALDelay)
	err := w.WAL.Delete()
	w.deleted.Store(true)
	return err
}

// TestE2EShutdownStopsRunningNodes checks the stop of running nodes: a
// single-member group elects itself and listens for forwarded proposals;
// WaitForStop returns at once while a node runs; a host's Shutdown stops
// every node, waits until each closed its log, unregistered and gave back
// every subscription it made on the host's connection; and Delete stops a
// node and removes its log and store.
func TestE2EShutdownStopsRunningNodes(t *testing.T) {
	c := createRaftCluster(t, "R1S", 0)
	conn, err := c.net.Dial(raftport.NodeID("S-1"))
	require_NoError(t, err)
	counted := &countingConn{Conn: conn}
	s := c.addHost("S-1", counted)

	start := func(group string, wal storage.WAL, store string) raftport.RaftNode {
		t.Helper()
		cfg := &raftport.RaftConfig{Name: group, Store: store, Log: wal}
		require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
		n, err := s.StartRaftNode(globalAccountName, cfg)
		require_NoError(t, err)
		c.trackNode(n)
		require_NoError(t, n.CampaignImmediately())
		return n
	}
	walA, walB := &slowWAL{WAL: storage.NewMemWAL()}, &slowWAL{WAL: storage.NewMemWAL()}
	a := start("RUN-A", walA, c.tempDir())
	b := start("RUN-B", walB, c.tempDir())

	// Each leader holds four subscriptions of its own and two for what
	// followers forward.
	within(t, 5*time.Second, holds("both nodes leading", func() bool {
		return a.State() == raftport.Leader && b.State() == raftport.Leader && counted.live.Load() == 12
	}))
	require_Equal(t, s.NumRaftNodes(), 2)
	a.WaitForStop()
	require_Equal(t, a.State(), raftport.Leader)
	require_False(t, closedQuit(a))

	// Deleting a running node.
	store := c.tempDir()
	walDir := c.tempDir()
	gone := start("GONE", openFileWAL(t, walDir), store)
	within(t, 5*time.Second, holds("the third node leading", func() bool {
		return gone.State() == raftport.Leader && counted.live.Load() == 18
	}))
	require_False(t, gone.IsDeleted())
	gone.Delete()
	require_True(t, gone.IsDeleted())
	require_Equal(t, gone.State(), raftport.Closed)
	require_True(t, closedQuit(gone))
	require_True(t, s.LookupRaftNode("GONE") == nil)
	require_Equal(t, s.NumRaftNodes(), 2)
	require_Equal(t, counted.live.Load(), 12)
	for _, dir := range []string{store, walDir} {
		_, err := os.Stat(dir)
		require_True(t, os.IsNotExist(err))
	}

	s.Shutdown()
	for _, n := range []raftport.RaftNode{a, b} {
		require_Equal(t, n.State(), raftport.Closed)
		require_True(t, closedQuit(n))
		require_False(t, n.Leader())
		require_True(t, n.LeaderSince() == nil)
	}
	require_True(t, walA.closed.Load())
	require_True(t, walB.closed.Load())
	require_False(t, walA.deleted.Load())
	require_Equal(t, s.NumRaftNodes(), 0)
	require_Equal(t, counted.live.Load(), 0)
	// A host shut down stays so.
	s.Shutdown()
	_, err = s.StartRaftNode(globalAccountName, &raftport.RaftConfig{Name: "LATE", Store: c.tempDir(), Log: storage.NewMemWAL()})
	require_Error(t, err)
	require_True(t, strings.Contains(err.Error(), "shut down"))
}

// TestE2ETrafficAccountAndStorageBudget checks what a node reports of its
// host's accounts and storage budget: its traffic travels in the system
// account unless the host lets groups use their own; a host without a
// budget never runs out; on a host whose budget is exactly one entry's
// bytes a tracked node runs out only past it, with the second entry, and
// an untracked node never does. A leader stopped then no longer reports
// leading.
func TestE2ETrafficAccountAndStorageBudget(t *testing.T) {
	c := createRaftCluster(t, "R2S", 0)
	free := c.addHost("S-1", c.dialHost("S-1"))
	entry := aeFrom(nats0, 1).after(0, 0).withEntry()
	second := aeFrom(nats0, 1).after(1, 1).withEntry()
	outOfResources := func(want bool) check {
		return field("out of resources", func(st *stepped) bool { return st.p.OutOfResources() }, want)
	}

	unbounded := c.stepNodeOn(free, nodeSetup{group: "UNBOUNDED", peers: []string{free.ID(), nats0}, track: true})
	require_Equal(t, unbounded.n.GetTrafficAccountName(), "$SYS")
	require_True(t, unbounded.n.IsSystemAccount())
	unbounded.expect(outOfResources(false))
	unbounded.live(entry, lastIndex(1), outOfResources(false))
	_, oneEntry := unbounded.n.Size()
	require_True(t, oneEntry > 0)
	unbounded.live(second, lastIndex(2), outOfResources(false))

	budget := c.addHostWith("S-2", c.dialHost("S-2"), func(cfg *raftport.ServerConfig) {
		cfg.MaxStorageBytes, cfg.NRGInAssetAccount = oneEntry, true
	})
	tracked := c.stepNodeOn(budget, nodeSetup{group: "TRACKED", peers: []string{budget.ID(), nats0}, track: true})
	require_Equal(t, tracked.n.GetTrafficAccountName(), globalAccountName)
	require_False(t, tracked.n.IsSystemAccount())
	untracked := c.stepNodeOn(budget, nodeSetup{group: "UNTRACKED", peers: []string{budget.ID(), nats0}})
	tracked.live(entry, lastIndex(1))
	_, bytes := tracked.n.Size()
	require_Equal(t, bytes, oneEntry)
	tracked.expect(outOfResources(false))
	untracked.expect(outOfResources(false))
	tracked.live(second, lastIndex(2), outOfResources(true))
	untracked.expect(outOfResources(false))

	leader := c.stepNodeOn(free, nodeSetup{group: "STOPPED"})
	leader.leadByHand()
	require_NotNil(t, leader.n.LeaderSince())
	require_Equal(t, leader.n.GetTrafficAccountName(), "$SYS")
	leader.n.Stop()
	require_Equal(t, leader.n.State(), raftport.Closed)
	require_False(t, leader.n.Leader())
	require_True(t, leader.n.LeaderSince() == nil)
	require_True(t, free.LookupRaftNode("STOPPED") == nil)
}

// failingSubConn refuses new subscriptions once told to, as a connection
// going away does.
type failingSubConn struct {
	transport.Conn
	refuse atomic.Bool
}

func (c *failingSubConn) Subscribe(subject string, h transport.Handler) (transport.Subscription, error) {
	if c.refuse.Load() {
		return nil, errors.New("subscriptions refused")
	}
	return c.Conn.Subscribe(subject, h)
}

// TestE2ECatchupWithoutInbox checks a follower whose connection refuses
// the catchup inbox: it still records the catchup, with no stream to
// read, warns, and ending the catchup drops it cleanly.
func TestE2ECatchupWithoutInbox(t *testing.T) {
	c := createRaftCluster(t, "R1S", 0)
	logs := &logCapture{}
	conn := &failingSubConn{Conn: c.dialHost("S-1")}
	s := c.addHostWith("S-1", conn, func(cfg *raftport.ServerConfig) { cfg.Logger = slog.New(logs) })
	st := c.stepNodeOn(s, nodeSetup{group: "NOINBOX", peers: []string{s.ID(), nats0, nats1}})

	conn.refuse.Store(true)
	gap := aeFrom(nats0, 1).after(1, 5).withEntry()
	st.live(gap, catchingUp(), lastIndex(0))
	require_True(t, st.p.CatchupSub().IsZero())
	cv, _ := st.p.Catchup()
	require_Equal(t, cv.CIndex, 5)
	st.p.CancelCatchup()
	st.expect(notCatchingUp(), lastIndex(0))
	require_Equal(t, logPrefixCount(logs, nodeLine(s, "NOINBOX", "Error subscribing to catchup inbox")), 1)

	conn.refuse.Store(false)
	halt(st.n)
	require_Equal(t, s.NumRaftNodes(), 0)
}
