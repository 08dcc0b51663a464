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
// knows only itself, under the literal ID the reference asserts for its
// first host, has cluster size 1 and has quorum.
func TestNRGInitSingleMemRaftNodeDefaults(t *testing.T) {
	n, _, c := initSingleMemRaftNodeWithCluster(t)
	s := c.servers[0]
	require_Equal(t, n.ID(), s.ID())
	require_Equal(t, len(n.Peers()), 1)
	require_Equal(t, n.Peers()[0].ID, "esFhDys3")
	require_Equal(t, n.ClusterSize(), 1)
	require_True(t, n.Quorum())
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
