package raftport_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// TestNRGMultipleStopsDontPanic ports test 2654: stopping a node again and
// again is harmless.
func TestNRGMultipleStopsDontPanic(t *testing.T) {
	st := stepNode(t)
	defer func() { require_True(t, recover() == nil) }()

	for range 10 {
		st.n.Stop()
	}
	st.expect(inState(raftport.Closed))
}

// TestNRGKeepRunningOnServerShutdown ports test 2674: a node started on a
// host keeps running, and its log stays open, until the node itself is
// stopped; only then is the log closed. The reference flips the server's
// "running" flag first; a raftport host has no state between running and
// shut down, so the node is checked while its host merely carries on.
func TestNRGKeepRunningOnServerShutdown(t *testing.T) {
	st := stepNode(t)
	wal := st.p.WAL()
	st.p.StartRun()

	// The run loop announces the end of replay with a nil entry, and the
	// single member then takes the lead: the loop is alive and working.
	within(t, 5*time.Second, holds("the end-of-replay marker", func() bool {
		for _, ce := range st.n.ApplyQ().Pop() {
			if ce == nil {
				return true
			}
		}
		return false
	}))
	within(t, 5*time.Second, holds("the single member to lead", func() bool { return st.n.State() == raftport.Leader }))
	require_NoError(t, wal.Sync())

	halt(st.n)
	require_Error(t, wal.Sync(), storage.ErrClosed)
}

// TestNRGInitSingleMemRaftNodeDefaults ports test 2718: a one-member group
// knows only itself, under the literal ID the reference asserts for its
// first host, has cluster size 1 and has quorum.
func TestNRGInitSingleMemRaftNodeDefaults(t *testing.T) {
	stepNode(t).expect(
		field("node ID", func(st *stepped) string { return st.n.ID() }, "esFhDys3"),
		field("peers", func(st *stepped) string { return fmt.Sprint(peerIDs(st.n)) }, "[esFhDys3]"),
		clusterSize(1),
		hasQuorum(true))
}

// observe switches every member's observer mode.
func (g group[M]) observe(on bool) {
	for _, n := range g.nodes() {
		n.SetObserver(on)
	}
}

func observing(n raftport.RaftNode) error {
	if !n.IsObserver() {
		return errors.New("not an observer")
	}
	return nil
}

// TestNRGObserverMode ports test 2622: observers keep applying commits and
// stay observers.
func TestNRGObserverMode(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{})
	// Observers take no part in elections but apply what is committed.
	rg.followers().observe(true)

	leader.proposeDeltas(1, 2, 3)
	rg.waitOnTotal(t, 6)

	// Applying did not take them out of observer mode.
	require_NoError(t, rg.followers().everyNode(observing)())
}

// TestNRGElectionTimerAfterObserver ports test 2633: leaving observer mode
// rearms the election timer instead of leaving it at the observer
// interval.
func TestNRGElectionTimerAfterObserver(t *testing.T) {
	c, rg, _ := electedAdders(t, groupSpec{memory: true})
	rg.observe(true)
	// Let every timer settle into observer mode first.
	time.Sleep(c.timing.MaxElectionTimeout)

	before := time.Now()
	rg.observe(false)
	// SetObserver(false) rearms the timer before it returns, so no wait is
	// needed for the reset to show.
	require_NoError(t, rg.everyNode(func(n raftport.RaftNode) error {
		if reset := probeOf(n).ElectionTimerReset(); !reset.After(before) {
			return fmt.Errorf("election timer last reset at %v, before leaving observer mode", reset)
		}
		return nil
	})())
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
	counters := make([]*countingConn, 3)
	for i := range counters {
		conn, err := c.net.Dial(raftport.NodeID(serverName(i)))
		require_NoError(t, err)
		counters[i] = &countingConn{Conn: conn}
		c.addHost(serverName(i), counters[i])
	}
	subscriptions := func() (live int64) {
		for _, cc := range counters {
			live += cc.live.Load()
		}
		return live
	}
	before := subscriptions()

	var groups []group[*stateAdder]
	for i := range 5 {
		rg := placeGroup(c, fmt.Sprintf("TEST-%d", i), 3, fileStorage, newStateAdder)
		require_NotNil(t, rg.waitOnLeader())
		groups = append(groups, rg)
	}
	require_True(t, subscriptions() > before)

	for _, rg := range groups {
		nodes := rg.nodes()
		each(nodes, raftport.RaftNode.Stop)
		each(nodes, raftport.RaftNode.WaitForStop)
	}
	require_Equal(t, subscriptions(), before)
}

// TestNRGRecoverFromFollowingNoLeader ports test 2620: followers that all
// lost their leader notice the silence, hold an election and move to a new
// term.
func TestNRGRecoverFromFollowingNoLeader(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{})
	term := leader.node().Term()
	nodes := rg.nodes()

	// Pause every member (the leader refuses, errAlreadyLeader, which the
	// reference ignores too), drain their apply queues so that nobody
	// follows a previous leader for an entry it had already received,
	// make each a follower without a leader, and resume them.
	each(nodes, func(n raftport.RaftNode) { _ = n.PauseApply() })
	each(nodes, func(n raftport.RaftNode) {
		n.ApplyQ().Drain()
		probeOf(n).SwitchToFollower("")
	})
	each(nodes, raftport.RaftNode.ResumeApply)

	// Having heard from no leader lately, they hold an election, which a
	// new term comes out of.
	require_NotNil(t, rg.waitOnLeader())
	next := rg.leader()
	require_True(t, next != nil)
	require_NotEqual(t, next.node().Term(), term)
}

// TestDeleteRemovesState checks that Delete stops the node, deletes its
// file WAL and removes its store directory.
func TestDeleteRemovesState(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	s := c.servers[0]

	store, walDir := filepath.Join(t.TempDir(), "store"), filepath.Join(t.TempDir(), "wal")
	cfg := &raftport.RaftConfig{Name: "GONE", Store: store, Log: openFileWAL(t, walDir)}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, err := s.StartRaftNode(globalAccountName, cfg)
	require_NoError(t, err)
	within(t, 5*time.Second, holds("the node to lead", func() bool { return n.State() == raftport.Leader }))
	require_False(t, n.IsDeleted())

	n.Delete()
	require_True(t, n.IsDeleted())
	require_Equal(t, n.State(), raftport.Closed)
	for _, gone := range []string{store, walDir} {
		_, err = os.Stat(gone)
		require_True(t, os.IsNotExist(err))
	}
	require_True(t, s.LookupRaftNode("GONE") == nil)
}
