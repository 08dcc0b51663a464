package raftport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// TestNRGMultipleStopsDontPanic ports test 2654: stopping a node again and
// again is harmless.
func TestNRGMultipleStopsDontPanic(t *testing.T) {
	n, _, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	defer func() {
		p := recover()
		require_True(t, p == nil)
	}()

	for range 10 {
		n.Stop()
	}
	require_Equal(t, n.State(), raftport.Closed)
}

// TestNRGKeepRunningOnServerShutdown ports test 2674: a node started on a
// host keeps running, and its log stays open, until the node itself is
// stopped; only then is the log closed. The reference flips the server's
// "running" flag first; a raftport host has no state between running and
// shut down, so the node is checked while its host merely carries on.
func TestNRGKeepRunningOnServerShutdown(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	wal := p.WAL()
	p.StartRun()

	// The run loop announces the end of replay with a nil entry, and the
	// single member then takes the lead: the loop is alive and working.
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, ce := range n.ApplyQ().Pop() {
			if ce == nil {
				return nil
			}
		}
		return errors.New("no end-of-replay marker yet")
	})
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n.State() != raftport.Leader {
			return errors.New("single member has not elected itself")
		}
		return nil
	})
	require_NoError(t, wal.Sync())

	n.Stop()
	n.WaitForStop()

	require_Error(t, wal.Sync(), storage.ErrClosed)
}

// TestNRGInitSingleMemRaftNodeDefaults ports test 2718: a one-member group
// knows only itself, has cluster size 1 and has quorum. The reference
// asserts its host's literal ID "esFhDys3"; raftport derives node IDs with
// its own hash, so the ID is checked against the host's.
func TestNRGInitSingleMemRaftNodeDefaults(t *testing.T) {
	n, _, c := initSingleMemRaftNodeWithCluster(t)
	s := c.servers[0]
	require_Equal(t, n.ID(), s.ID())
	require_Equal(t, n.ID(), raftport.NodeID(s.Name()))
	require_Equal(t, len(n.Peers()), 1)
	require_Equal(t, n.Peers()[0].ID, s.ID())
	require_Equal(t, n.ClusterSize(), 1)
	require_True(t, n.Quorum())
}

// TestNRGInvalidTAVDoesntPanic ports test 2630: a term-and-vote file too
// short to hold a term does not crash the restart, and the group recovers.
// The file is written as a valid checked file with a 4-byte payload, which
// is what reaches the term decoding (a raw 4-byte file would already fail
// its checksum and never get that far).
func TestNRGInvalidTAVDoesntPanic(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)

	// Mangle the TAV file to a short length (less than uint64).
	tav := filepath.Join(raftport.NewProbe(leader.node()).StoreDir(), storage.TermVoteFile)
	require_NoError(t, storage.WriteFileAtomic(storage.OSFS{}, tav, []byte{1, 2, 3, 4}))

	// Restart the node.
	leader.stop()
	leader.restart()

	// Before the fix, a crash would have happened before this point.
	waitOnAllCurrent(t, rg)
}

// waitOnAllCurrent waits for every member to have a leader and be caught
// up with it, the group-level form of the reference's c.waitOnAllCurrent.
func waitOnAllCurrent(t *testing.T, rg smGroup) {
	t.Helper()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, sm := range rg {
			if !sm.node().Current() {
				return fmt.Errorf("%s is not current", sm.server().Name())
			}
		}
		return nil
	})
}

// TestNRGObserverMode ports test 2622: observers keep applying commits and
// stay observers.
func TestNRGObserverMode(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()

	// Put all of the followers into observer mode. In this state they will
	// not participate in an election but they will continue to apply
	// incoming commits.
	for _, n := range rg {
		if n.node().Leader() {
			continue
		}
		n.node().SetObserver(true)
	}

	// Propose a change from the leader.
	adder := rg.leader().(*stateAdder)
	adder.proposeDelta(1)
	adder.proposeDelta(2)
	adder.proposeDelta(3)

	// Wait for the followers to apply it.
	rg.waitOnTotal(t, 6)

	// Confirm the followers are still just observers and weren't reset out
	// of that state for some reason.
	for _, n := range rg {
		if n.node().Leader() {
			continue
		}
		require_True(t, n.node().IsObserver())
	}
}

// TestNRGElectionTimerAfterObserver ports test 2633: leaving observer mode
// rearms the election timer instead of leaving it at the observer
// interval.
func TestNRGElectionTimerAfterObserver(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()

	for _, n := range rg {
		n.node().SetObserver(true)
	}

	// Let every timer settle into observer mode first.
	time.Sleep(c.timing.MaxElectionTimeout)
	before := time.Now()

	for _, n := range rg {
		n.node().SetObserver(false)
	}

	// SetObserver(false) rearms the timer before it returns, so no wait is
	// needed for the reset to show.
	for _, n := range rg {
		etlr := raftport.NewProbe(n.node()).ElectionTimerReset()
		require_True(t, etlr.After(before))
	}
}

// countingConn counts the subscriptions a host holds on its connection,
// as the reference counts the system account's internal clients.
type countingConn struct {
	transport.Conn
	live atomic.Int64
}

type countedSub struct {
	transport.Subscription
	conn *countingConn
	once sync.Once
}

func (c *countingConn) Subscribe(subject string, h transport.Handler) (transport.Subscription, error) {
	sub, err := c.Conn.Subscribe(subject, h)
	if err != nil {
		return nil, err
	}
	c.live.Add(1)
	return &countedSub{Subscription: sub, conn: c}, nil
}

func (s *countedSub) Unsubscribe() error {
	s.once.Do(func() { s.conn.live.Add(-1) })
	return s.Subscription.Unsubscribe()
}

// TestNRGSystemClientCleanupFromAccount ports test 2634: stopping the nodes
// of several groups gives back every subscription they made on their
// hosts' connections.
func TestNRGSystemClientCleanupFromAccount(t *testing.T) {
	c := createRaftCluster(t, "R3S", 0)
	defer c.shutdown()
	counters := make([]*countingConn, 3)
	for i := range counters {
		name := serverName(i)
		netConn, err := c.net.Dial(raftport.NodeID(name))
		require_NoError(t, err)
		counters[i] = &countingConn{Conn: netConn}
		conn := counters[i]
		s, err := raftport.NewServer(raftport.ServerConfig{
			Name: name, Cluster: c.name, Timing: c.timing, Logger: testLogger(),
			Connect: func(string) (transport.Conn, error) { return conn, nil },
		})
		require_NoError(t, err)
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
		c.servers = append(c.servers, s)
	}

	numSubs := func() int64 {
		var total int64
		for _, cc := range counters {
			total += cc.live.Load()
		}
		return total
	}
	start := numSubs()

	var all []smGroup
	for i := range 5 {
		rg := c.createRaftGroup(fmt.Sprintf("TEST-%d", i), 3, newStateAdder)
		all = append(all, rg)
		require_NotNil(t, rg.waitOnLeader())
	}
	require_True(t, numSubs() > start)
	for _, rg := range all {
		for _, sm := range rg {
			sm.node().Stop()
		}
		for _, sm := range rg {
			sm.node().WaitForStop()
		}
	}
	require_Equal(t, numSubs(), start)
}

// TestNRGRecoverPindexPtermOnlyIfLogNotEmpty ports test 2652: with its log
// and snapshots gone, only the term file remembers the past, and a
// restarted node must count its log as empty (pterm and pindex zero).
func TestNRGRecoverPindexPtermOnlyIfLogNotEmpty(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	require_NotNil(t, rg.waitOnLeader())

	gn := rg[0].(*stateAdder)
	p := raftport.NewProbe(rg[0].node())

	// Delete the entries and snapshots, leaving the only remaining trace of
	// the term in the TAV file.
	require_NoError(t, p.WAL().Truncate(0))
	require_NoError(t, os.RemoveAll(filepath.Join(gn.cfg.Store, storage.SnapshotsDir)))

	for _, gn := range rg {
		gn.stop()
	}
	rg[0].restart()
	rs := raftport.NewProbe(rg[0].node()).Replication()

	// Both should be zero as, without any snapshots or log entries, the log
	// is considered empty and therefore we account as such.
	require_Equal(t, rs.PTerm, 0)
	require_Equal(t, rs.PIndex, 0)
	require_True(t, rs.Term > 0)
}

// TestNRGRecoverFromFollowingNoLeader ports test 2620: followers that all
// lost their leader notice the silence, hold an election and move to a new
// term.
func TestNRGRecoverFromFollowingNoLeader(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	require_NotNil(t, rg.waitOnLeader())

	// Find out what term we are on.
	term := rg.leader().node().Term()

	// Start by pausing all of the nodes. This will stop them from
	// processing new entries.
	// The leader refuses (errAlreadyLeader), which the reference ignores
	// too: only the followers need pausing.
	for _, n := range rg {
		_ = n.node().PauseApply()
	}

	// Drain the apply queues, so nobody follows a previous leader because
	// of an entry it had already received, then make every member a
	// follower without a leader.
	for _, n := range rg {
		n.node().ApplyQ().Drain()
		raftport.NewProbe(n.node()).SwitchToFollower("")
	}

	// Resume the nodes.
	for _, n := range rg {
		n.node().ResumeApply()
	}

	// The nodes notice they have not heard from a leader lately and call an
	// election, which a new term comes out of.
	require_NotNil(t, rg.waitOnLeader())
	require_True(t, rg.leader() != nil)
	require_NotEqual(t, rg.leader().node().Term(), term)
}

// holeWAL stands for a log whose storage lost entries in the middle, as the
// reference's file store does after a truncation cut short by a crash:
// the removed indexes fail to load while LastIndex still covers them.
type holeWAL struct {
	storage.WAL
	mu      sync.Mutex
	removed map[uint64]bool
}

func (w *holeWAL) remove(index uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removed[index] = true
}

func (w *holeWAL) Load(index uint64) (uint64, []byte, error) {
	w.mu.Lock()
	gone := w.removed[index]
	w.mu.Unlock()
	if gone {
		return 0, nil, storage.ErrNotFound
	}
	return w.WAL.Load(index)
}

func (w *holeWAL) State() storage.State {
	st := w.WAL.State()
	w.mu.Lock()
	defer w.mu.Unlock()
	for index := range w.removed {
		if index >= st.FirstIndex && index <= st.LastIndex {
			st.Entries--
		}
	}
	return st
}

func (w *holeWAL) Truncate(index uint64) error {
	if err := w.WAL.Truncate(index); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.removed {
		if i > index {
			delete(w.removed, i)
		}
	}
	return nil
}

// numDeleted is the reference's NumDeleted: indexes in range that hold no
// entry.
func numDeleted(st storage.State) uint64 {
	if st.LastIndex < st.FirstIndex {
		return 0
	}
	return st.LastIndex - st.FirstIndex + 1 - st.Entries
}

// TestNRGTruncateOnStartup ports test 2683: at startup the WAL is cut back
// to its last good entry, both when an entry went missing and when an
// entry does not follow its predecessor.
func TestNRGTruncateOnStartup(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	s := c.servers[0]
	defer c.shutdown()

	storeDir, walDir := t.TempDir(), t.TempDir()
	wal := &holeWAL{WAL: openFileWAL(t, walDir), removed: make(map[uint64]bool)}
	cfg := &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: wal}

	require_NoError(t, s.BootstrapRaftNode(cfg, nil, false))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)

	// A sample entry; the content does not matter, only that it is stored.
	entries := []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte("foo")}}
	nats0 := raftport.NodeID("nats-0")
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries})

	// Store two entries the normal way.
	require_NoError(t, p.ProcessAppendEntry(aeMsg1, p.AESub()))
	require_NoError(t, p.ProcessAppendEntry(aeMsg2, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 2)

	checkState := func(entries, first, last, deleted uint64) {
		t.Helper()
		st := wal.State()
		require_Equal(t, st.Entries, entries)
		require_Equal(t, st.FirstIndex, first)
		require_Equal(t, st.LastIndex, last)
		require_Equal(t, numDeleted(st), deleted)
	}
	checkState(2, 1, 2, 0)

	// Simulate a truncation that was only performed halfway before a hard
	// kill.
	wal.remove(2)
	checkState(1, 1, 2, 1)

	restart := func() {
		t.Helper()
		n.Stop()
		n.WaitForStop()
		wal = &holeWAL{WAL: openFileWAL(t, walDir), removed: wal.removed}
		cfg = &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: wal}
		n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
		require_NoError(t, err)
	}
	restart()

	// The WAL is truncated on startup: the entry was missing.
	checkState(1, 1, 1, 0)

	// Store an invalid append entry manually.
	spec := aeMsg2.Spec()
	spec.PIndex = 0
	aeMsg2 = encode(t, spec)
	_, err = wal.Append(spec.Term, aeMsg2.Bytes())
	require_NoError(t, err)
	checkState(2, 1, 2, 0)

	restart()

	// The WAL is truncated on startup: the append entry is invalid.
	checkState(1, 1, 1, 0)
	n.Stop()
}

// TestNRGInitializeAndScaleUp ports test 2676: a member that initializes
// with an empty log (and possibly scales up as an observer) votes without
// claiming an empty log, and the first data from a leader, stored or
// installed from a snapshot in a catchup, ends initializing, scale-up and
// observer mode; after a WAL reset its vote is empty again unless
// initializing.
func TestNRGInitializeAndScaleUp(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)

	entries := []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte("foo")}}
	nats0 := raftport.NodeID("nats-0")

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 0, PIndex: 0, Entries: entries})

	require_True(t, p.StartupFlags().Initializing)
	p.SetScaleUp(true)
	n.SetObserver(true)
	require_Equal(t, p.Replication().Term, 0)

	voteReply := "$TEST"
	replies, sub := chanSubscribe(t, c.client(), voteReply, 8)
	defer sub.Unsubscribe()
	nextVote := func() raftport.VoteResponseSpec {
		t.Helper()
		msg := require_ChanRead(t, replies, time.Second)
		vr, err := raftport.DecodeVoteResponse(msg.Data)
		require_NoError(t, err)
		return vr
	}
	checkVoted := func(term uint64, vote string) {
		t.Helper()
		rs := p.Replication()
		require_Equal(t, rs.Term, term)
		require_Equal(t, rs.Vote, vote)
	}
	checkFlags := func(want raftport.StartupFlags) {
		t.Helper()
		require_Equal(t, p.StartupFlags(), want)
	}

	// Votes on a new leader, and resets the notion of an "empty vote" to
	// ease getting quorum.
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 1, Candidate: nats0, Reply: voteReply})
	checkVoted(1, nats0)
	checkFlags(raftport.StartupFlags{Initializing: true, ScaleUp: true, Observer: true})

	vr := nextVote()
	require_True(t, vr.Granted)
	require_False(t, vr.Empty)

	// Processing an append entry resets scale up and takes us out of
	// observer mode.
	require_NoError(t, p.ProcessAppendEntry(aeMsg, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 1)
	checkFlags(raftport.StartupFlags{})

	// Simulate a reset.
	p.ResetWAL()
	require_Equal(t, p.Replication().PIndex, 0)

	// Vote after a WAL reset must be an "empty vote".
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 2, Candidate: "_random_", Reply: voteReply})
	checkVoted(2, "_random_")

	// Vote is still granted, but now marked as "empty".
	vr = nextVote()
	require_True(t, vr.Granted)
	require_True(t, vr.Empty)

	// Reset to check that a snapshot in a catchup also resets this.
	p.SetInitializing(true)
	p.SetScaleUp(true)
	n.SetObserver(true)
	snapshotEntries := []*raftport.Entry{
		{Type: raftport.EntrySnapshot},
		p.PeerStateEntry(),
	}
	aeSnapshot := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 1, PTerm: 1, PIndex: 1, Entries: snapshotEntries})
	_, err := p.CreateCatchup(aeSnapshot)
	require_NoError(t, err)
	require_NoError(t, p.ProcessAppendEntry(aeSnapshot, p.CatchupSub()))
	checkFlags(raftport.StartupFlags{})

	// Simulate a reset.
	p.ResetWAL()
	require_Equal(t, p.Replication().PIndex, 0)

	// Vote when initializing but not scaling up must also NOT be an "empty
	// vote".
	p.SetInitializing(true)
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 3, Candidate: "_random_", Reply: voteReply})
	checkVoted(3, "_random_")

	vr = nextVote()
	require_True(t, vr.Granted)
	require_False(t, vr.Empty)
}

// TestTrafficAccountMapping checks where a group's traffic travels: on the
// system account's connection by default, on the group's own account's
// connection when the hosts allow NRG traffic in asset accounts, and that
// RecreateInternalSubs with an unchanged mapping keeps the subscriptions
// as they are. The group must elect a leader either way, which shows its
// messages reach each other on the chosen account.
func TestTrafficAccountMapping(t *testing.T) {
	for _, inAsset := range []bool{false, true} {
		t.Run(fmt.Sprintf("inAsset=%v", inAsset), func(t *testing.T) {
			net := transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})
			defer net.Close()

			type host struct {
				s     *raftport.Server
				conns map[string]*countingConn
			}
			var hosts []*host
			var peers []string
			for i := range 3 {
				name := serverName(i)
				h := &host{conns: make(map[string]*countingConn)}
				var mu sync.Mutex
				s, err := raftport.NewServer(raftport.ServerConfig{
					Name: name, Timing: fastTiming(), Logger: testLogger(), NRGInAssetAccount: inAsset,
					Connect: func(account string) (transport.Conn, error) {
						mu.Lock()
						defer mu.Unlock()
						if cc, ok := h.conns[account]; ok {
							return cc, nil
						}
						conn, err := net.DialAccount(raftport.NodeID(name), account)
						if err != nil {
							return nil, err
						}
						h.conns[account] = &countingConn{Conn: conn}
						return h.conns[account], nil
					},
				})
				require_NoError(t, err)
				h.s = s
				hosts = append(hosts, h)
				peers = append(peers, s.ID())
			}

			var nodes []raftport.RaftNode
			for _, h := range hosts {
				cfg := &raftport.RaftConfig{Name: "ACCT", Store: t.TempDir(), Log: storage.NewMemWAL()}
				require_NoError(t, h.s.BootstrapRaftNode(cfg, peers, true))
				n, err := h.s.StartRaftNode(globalAccountName, cfg)
				require_NoError(t, err)
				nodes = append(nodes, n)
			}
			defer func() {
				for _, h := range hosts {
					h.s.Shutdown()
				}
				for _, n := range nodes {
					n.WaitForStop()
				}
			}()

			want, other := "$SYS", globalAccountName
			if inAsset {
				want, other = globalAccountName, "$SYS"
			}
			for i, n := range nodes {
				require_Equal(t, n.GetTrafficAccountName(), want)
				require_Equal(t, n.IsSystemAccount(), !inAsset)
				h := hosts[i]
				require_True(t, h.conns[want].live.Load() > 0)
				_, dialled := h.conns[other]
				require_False(t, dialled)
			}

			// The state machine side is not running, so the lead is taken
			// by State rather than Leader, which waits for applies.
			checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				for _, n := range nodes {
					if n.State() == raftport.Leader {
						return nil
					}
				}
				return errors.New("no leader")
			})

			before := hosts[0].conns[want].live.Load()
			require_NoError(t, nodes[0].RecreateInternalSubs())
			require_Equal(t, hosts[0].conns[want].live.Load(), before)

			nodes[0].Stop()
			nodes[0].WaitForStop()
			require_Equal(t, hosts[0].conns[want].live.Load(), 0)
		})
	}
}

// TestOutOfResourcesDropsAppendEntries checks the storage budget: a
// tracked node whose host is past ServerConfig.MaxStorageBytes drops the
// append entries it is sent, while an untracked node on the same host
// stores them.
func TestOutOfResourcesDropsAppendEntries(t *testing.T) {
	net := transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})
	defer net.Close()
	conn, err := net.Dial(raftport.NodeID("S-1"))
	require_NoError(t, err)
	s, err := raftport.NewServer(raftport.ServerConfig{
		Name: "S-1", Timing: fastTiming(), Logger: testLogger(), MaxStorageBytes: 64,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
	})
	require_NoError(t, err)
	defer s.Shutdown()

	leader := raftport.NodeID("nats-0")
	big := []*raftport.Entry{{Type: raftport.EntryNormal, Data: make([]byte, 100)}}
	first := encode(t, raftport.AppendEntrySpec{Leader: leader, Term: 1, PTerm: 0, PIndex: 0, Entries: big})
	second := encode(t, raftport.AppendEntrySpec{Leader: leader, Term: 1, PTerm: 1, PIndex: 1, Entries: big})

	start := func(group string, track bool) *raftport.Probe {
		t.Helper()
		cfg := &raftport.RaftConfig{Name: group, Store: t.TempDir(), Log: storage.NewMemWAL(), Track: track}
		require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID(), leader}, true))
		_, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
		require_NoError(t, err)
		return p
	}

	tracked := start("TRACKED", true)
	require_False(t, tracked.OutOfResources())
	// The first entry is stored directly, which puts the host past its
	// budget.
	require_NoError(t, tracked.ProcessAppendEntry(first, tracked.AESub()))
	require_Equal(t, tracked.Replication().PIndex, 1)
	require_True(t, tracked.OutOfResources())

	require_NoError(t, tracked.QueueAppendEntry(second, tracked.AESub()))
	tracked.ProcessAppendEntries()
	require_Equal(t, tracked.Replication().PIndex, 1)

	// An untracked node is not held to the budget.
	free := start("FREE", false)
	require_False(t, free.OutOfResources())
	require_NoError(t, free.QueueAppendEntry(first, free.AESub()))
	require_NoError(t, free.QueueAppendEntry(second, free.AESub()))
	free.ProcessAppendEntries()
	require_Equal(t, free.Replication().PIndex, 2)
}

// TestStateFileLayouts checks peers.idx and tav.idx: the reference's field
// layouts inside checksummed files, a vote persisted as it is cast, a
// damaged term file ignored on restart rather than read as a term, and a
// failed write recorded as the node's write error.
func TestStateFileLayouts(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]
	le := binary.LittleEndian

	peers := []string{s.ID(), raftport.NodeID("nats-0"), raftport.NodeID("nats-1")}
	store := t.TempDir()
	cfg := &raftport.RaftConfig{Name: "FILES", Store: store, Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, peers, true))

	ps, err := storage.ReadFileChecked(storage.OSFS{}, filepath.Join(store, storage.PeerStateFile))
	require_NoError(t, err)
	require_Len(t, len(ps), 4+4+3*8+2)
	require_Equal(t, le.Uint32(ps[0:]), 3)
	require_Equal(t, le.Uint32(ps[4:]), 3)
	for i, id := range peers {
		require_Equal(t, string(ps[8+8*i:16+8*i]), id)
	}
	require_Equal(t, le.Uint16(ps[32:]), 0)

	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	candidate := raftport.NodeID("nats-0")
	vr := p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 5, Candidate: candidate})
	require_True(t, vr.Granted)

	tavPath := filepath.Join(store, storage.TermVoteFile)
	tav, err := storage.ReadFileChecked(storage.OSFS{}, tavPath)
	require_NoError(t, err)
	require_Len(t, len(tav), 16)
	require_Equal(t, le.Uint64(tav), 5)
	require_Equal(t, string(tav[8:]), candidate)

	// A restart recovers the term and vote.
	n.Stop()
	cfg.Log = storage.NewMemWAL()
	n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	rs := p.Replication()
	require_Equal(t, rs.Term, 5)
	require_Equal(t, rs.Vote, candidate)

	// Damage the term file: the restart must not take a term from it.
	raw, err := os.ReadFile(tavPath)
	require_NoError(t, err)
	raw[0] ^= 0xff
	require_NoError(t, os.WriteFile(tavPath, raw, 0o644))
	n.Stop()
	cfg.Log = storage.NewMemWAL()
	n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	rs = p.Replication()
	require_Equal(t, rs.Term, 0)
	require_Equal(t, rs.Vote, "")

	// Make the store directory unusable: the next term change cannot be
	// persisted and becomes the node's write error.
	require_NoError(t, os.RemoveAll(store))
	require_NoError(t, os.WriteFile(store, []byte("not a directory"), 0o644))
	require_True(t, p.Replication().WriteErr == nil)
	p.ProcessVoteRequest(raftport.VoteRequestSpec{Term: 6, Candidate: candidate})
	require_True(t, p.Replication().WriteErr != nil)
	n.Stop()
}

// TestWriteErrorHandling checks which storage failures stop a node from
// writing: a closed store or a missing entry is not a write failure, a
// missing file is only logged, any other error is kept, and a full disk
// stops every node of the host, which all share that disk.
func TestWriteErrorHandling(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]

	start := func(group string) (raftport.RaftNode, *raftport.Probe) {
		t.Helper()
		cfg := &raftport.RaftConfig{Name: group, Store: t.TempDir(), Log: storage.NewMemWAL()}
		require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
		n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
		require_NoError(t, err)
		return n, p
	}
	n1, p1 := start("ONE")
	n2, _ := start("TWO")

	for _, benign := range []error{
		storage.ErrClosed,
		fmt.Errorf("loading: %w", storage.ErrNotFound),
		fmt.Errorf("opening: %w", os.ErrNotExist),
	} {
		p1.SetWriteErr(benign)
		require_True(t, p1.Replication().WriteErr == nil)
	}

	failed := errors.New("disk controller on fire")
	p1.SetWriteErr(failed)
	require_Error(t, p1.Replication().WriteErr, failed)
	require_Equal(t, n1.State(), raftport.Follower)
	require_Equal(t, n2.State(), raftport.Follower)

	full := fmt.Errorf("append: %w", syscall.ENOSPC)
	p1.SetWriteErr(full)
	require_Equal(t, n1.State(), raftport.Closed)
	require_Equal(t, n2.State(), raftport.Closed)
}

// logCapture keeps every log message, for tests of what a node logs.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func (l *logCapture) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// TestDebugLoggingReload checks that a node's debug messages, in the
// reference's "RAFT [id - group]" form, appear only once debugging is
// switched on, and that switching reaches nodes already running.
func TestDebugLoggingReload(t *testing.T) {
	net := transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})
	defer net.Close()
	conn, err := net.Dial(raftport.NodeID("S-1"))
	require_NoError(t, err)
	logs := &logCapture{}
	s, err := raftport.NewServer(raftport.ServerConfig{
		Name: "S-1", Timing: fastTiming(), Logger: slog.New(logs),
		Connect: func(string) (transport.Conn, error) { return conn, nil },
	})
	require_NoError(t, err)
	defer s.Shutdown()

	cfg := &raftport.RaftConfig{Name: "DEBUG", Store: t.TempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, _, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	prefix := fmt.Sprintf("RAFT [%s - DEBUG] ", s.ID())
	require_False(t, logs.has(prefix+"Started (cluster size 1, quorum 1)"))

	s.SetDebug(true)
	n.Stop()
	require_True(t, logs.has(prefix+"Shutdown"))

	// A node started afterwards logs the startup message the first one did
	// not.
	cfg2 := &raftport.RaftConfig{Name: "DEBUG2", Store: t.TempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg2, []string{s.ID()}, true))
	_, _, err = raftport.InitRaftNode(s, globalAccountName, cfg2)
	require_NoError(t, err)
	require_True(t, logs.has(fmt.Sprintf("RAFT [%s - DEBUG2] Started (cluster size 1, quorum 1)", s.ID())))
}

// TestHostRegistryAndLeaderTransfer checks the host side: nodes register
// and unregister, node IDs map back to host and cluster names, and
// transferring leaders moves a group's leadership off the host and keeps
// it off by making the host's nodes observers.
func TestHostRegistryAndLeaderTransfer(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	for _, s := range c.servers {
		require_Equal(t, s.ServerNameForNode(s.ID()), s.Name())
		require_Equal(t, s.ClusterNameForNode(s.ID()), "R3S")
		require_Equal(t, s.NumRaftNodes(), 0)
	}
	require_Equal(t, c.servers[0].ServerNameForNode("unknown1"), "")

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	for _, sm := range rg {
		require_Equal(t, sm.server().NumRaftNodes(), 1)
		require_True(t, sm.server().LookupRaftNode("TEST") == sm.node())
	}

	// A host without a leader has nothing to transfer.
	follower := rg.nonLeader()
	require_False(t, follower.server().TransferRaftLeaders())
	require_True(t, follower.node().IsObserver())

	require_True(t, leader.server().TransferRaftLeaders())
	require_True(t, leader.node().IsObserver())
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		l := rg.leader()
		if l == nil || l == leader {
			return errors.New("no new leader yet")
		}
		return nil
	})
	require_False(t, leader.node().Leader())

	leader.stop()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := leader.server().NumRaftNodes(); n != 0 {
			return fmt.Errorf("%d nodes still registered", n)
		}
		return nil
	})
	require_True(t, leader.server().LookupRaftNode("TEST") == nil)
}

// TestStepdownRaftNodes checks that stepping down a host's nodes moves the
// lead elsewhere and leaves the host's nodes as observers.
func TestStepdownRaftNodes(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)

	leader.server().StepdownRaftNodes()
	require_True(t, leader.node().IsObserver())
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		l := rg.leader()
		if l == nil || l == leader {
			return errors.New("no new leader yet")
		}
		return nil
	})
}

// TestDeleteRemovesState checks that Delete stops the node, deletes its
// file WAL and removes its store directory.
func TestDeleteRemovesState(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]

	store, walDir := filepath.Join(t.TempDir(), "store"), filepath.Join(t.TempDir(), "wal")
	cfg := &raftport.RaftConfig{Name: "GONE", Store: store, Log: openFileWAL(t, walDir)}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, err := s.StartRaftNode(globalAccountName, cfg)
	require_NoError(t, err)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n.State() != raftport.Leader {
			return errors.New("not leading yet")
		}
		return nil
	})
	require_False(t, n.IsDeleted())

	n.Delete()
	require_True(t, n.IsDeleted())
	require_Equal(t, n.State(), raftport.Closed)
	_, err = os.Stat(store)
	require_True(t, os.IsNotExist(err))
	_, err = os.Stat(walDir)
	require_True(t, os.IsNotExist(err))
	require_True(t, s.LookupRaftNode("GONE") == nil)
}
