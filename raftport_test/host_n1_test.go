package raftport_test

// Tests of the host: traffic accounts, storage budget, logging, registry
// and host-wide leader moves.

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

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
			leader := -1
			checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				for i, n := range nodes {
					if n.State() == raftport.Leader {
						leader = i
						return nil
					}
				}
				return errors.New("no leader")
			})

			// On a follower: a new leader's loop subscribes to what
			// followers forward while it runs, so its count moves on its own.
			f := (leader + 1) % len(nodes)
			before := hosts[f].conns[want].live.Load()
			require_NoError(t, nodes[f].RecreateInternalSubs())
			require_Equal(t, hosts[f].conns[want].live.Load(), before)

			nodes[f].Stop()
			nodes[f].WaitForStop()
			require_Equal(t, hosts[f].conns[want].live.Load(), 0)
		})
	}
}

// TestOutOfResourcesDropsAppendEntries checks the storage budget: a
// tracked node whose host is past ServerConfig.MaxStorageBytes drops the
// append entries it is sent, while an untracked node on the same host
// stores them.
func TestOutOfResourcesDropsAppendEntries(t *testing.T) {
	c, s := budgetHost(t)
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, 100)}
	first, second := aeFrom(nats0, 1).after(0, 0).carrying(big), aeFrom(nats0, 1).after(1, 1).carrying(big)
	outOfResources := func(want bool) check {
		return field("out of resources", func(st *stepped) bool { return st.p.OutOfResources() }, want)
	}
	queue := func(st *stepped, drafts ...aeDraft) {
		t.Helper()
		for _, d := range drafts {
			require_NoError(t, st.p.QueueAppendEntry(d.wire(t), st.p.AESub()))
		}
		st.p.ProcessAppendEntries()
	}

	// The first entry is stored directly, which puts the host past its
	// budget; the next one, queued, is dropped.
	tracked := c.stepNodeOn(s, nodeSetup{group: "TRACKED", peers: []string{s.ID(), nats0}, track: true})
	tracked.expect(outOfResources(false))
	tracked.live(first, lastIndex(1), outOfResources(true))
	queue(tracked, second)
	tracked.expect(lastIndex(1))

	// An untracked node is not held to the budget.
	free := c.stepNodeOn(s, nodeSetup{group: "FREE", peers: []string{s.ID(), nats0}})
	free.expect(outOfResources(false))
	queue(free, first, second)
	free.expect(lastIndex(2))
}

// TestDebugLoggingReload checks that a node's debug messages, in the
// reference's "RAFT [id - group]" form, appear only once debugging is
// switched on, and that switching reaches nodes already running.
func TestDebugLoggingReload(t *testing.T) {
	c := createRaftCluster(t, "R1S", 0)
	logs := &logCapture{}
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) {
		cfg.Logger, cfg.Debug = slog.New(logs), false
	})
	started := func(group string) string {
		return fmt.Sprintf("RAFT [%s - %s] Started (cluster size 1, quorum 1)", s.ID(), group)
	}

	st := c.stepNodeOn(s, nodeSetup{group: "DEBUG"})
	require_False(t, logs.has(started("DEBUG")))

	// Switched while the run loop is logging, which must not race.
	st.p.StartRun()
	s.SetDebug(true)
	halt(st.n)
	require_True(t, logs.has(fmt.Sprintf("RAFT [%s - DEBUG] Shutdown", s.ID())))

	// A node started afterwards logs the startup message the first one did
	// not.
	c.stepNodeOn(s, nodeSetup{group: "DEBUG2"})
	require_True(t, logs.has(started("DEBUG2")))
}

// TestHostRegistryAndLeaderTransfer checks the host side: nodes register
// and unregister, node IDs map back to host and cluster names, and
// transferring leaders moves a group's leadership off the host and keeps
// it off by making the host's nodes observers.
func TestHostRegistryAndLeaderTransfer(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	for _, s := range c.servers {
		require_Equal(t, s.ServerNameForNode(s.ID()), s.Name())
		require_Equal(t, s.ClusterNameForNode(s.ID()), "R3S")
		require_Equal(t, s.NumRaftNodes(), 0)
	}
	require_Equal(t, c.servers[0].ServerNameForNode("unknown1"), "")

	rg := placeGroup(c, "TEST", 3, fileStorage, newStateAdder)
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
	require_NotNil(t, rg.waitOnNewLeader(leader))
	require_False(t, leader.node().Leader())

	leader.stop()
	within(t, 5*time.Second, holds("the stopped node to unregister", func() bool { return leader.server().NumRaftNodes() == 0 }))
	require_True(t, leader.server().LookupRaftNode("TEST") == nil)
}

// TestStepdownRaftNodes checks that stepping down a host's nodes moves the
// lead elsewhere and leaves the host's nodes as observers.
func TestStepdownRaftNodes(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{})
	host := leader.server()
	host.StepdownRaftNodes()
	require_NoError(t, nodeIs(leader.node(), observing)())
	require_NotNil(t, rg.waitOnNewLeader(leader))
}

// TestNoNodeAfterHostShutdown checks that a host refuses new nodes once it
// is shut down, so none can run on without it.
func TestNoNodeAfterHostShutdown(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]

	cfg := &raftport.RaftConfig{Name: "LATE", Store: t.TempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	s.Shutdown()
	_, err := s.StartRaftNode(globalAccountName, cfg)
	require_Error(t, err)
	require_Contains(t, err.Error(), "shut down")
	require_Equal(t, s.NumRaftNodes(), 0)
}
