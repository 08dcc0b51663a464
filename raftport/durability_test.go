package raftport_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// gatedWAL is a MemWAL whose writes become durable only when the test
// says so: Write hands out tickets, Await blocks until the gate lets its
// ticket through. It shows what a node does between writing an entry and
// its fsync.
type gatedWAL struct {
	*storage.MemWAL
	mu       sync.Mutex
	changed  *sync.Cond
	written  storage.Ticket // tickets handed out
	durable  storage.Ticket // tickets let through
	held     bool
	awaiting storage.Ticket // highest ticket an Await waited on
	closed   bool
}

func newGatedWAL() *gatedWAL {
	g := &gatedWAL{MemWAL: storage.NewMemWAL()}
	g.changed = sync.NewCond(&g.mu)
	return g
}

var _ storage.DeferredWAL = (*gatedWAL)(nil)

func (g *gatedWAL) Write(term uint64, data []byte) (uint64, storage.Ticket, error) {
	index, err := g.Append(term, data)
	if err != nil {
		return 0, 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.written++
	if !g.held {
		g.durable = g.written
	}
	return index, g.written, nil
}

func (g *gatedWAL) Await(t storage.Ticket) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.awaiting = max(g.awaiting, t)
	g.changed.Broadcast()
	for g.durable < t && !g.closed {
		g.changed.Wait()
	}
	if g.closed {
		return storage.ErrClosed
	}
	return nil
}

func (g *gatedWAL) Close() error {
	g.mu.Lock()
	g.closed = true
	g.changed.Broadcast()
	g.mu.Unlock()
	return g.MemWAL.Close()
}

// hold stops writes from becoming durable until release.
func (g *gatedWAL) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = true
}

// release makes everything written durable, and later writes at once.
func (g *gatedWAL) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	g.durable = g.written
	g.changed.Broadcast()
}

// waitAwaited waits until the node waits for its log to hold index
// durably, that is until it wrote index and awaits a ticket covering it.
func (g *gatedWAL) waitAwaited(t *testing.T, index uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.State().LastIndex < index || g.awaiting < g.written {
		if time.Now().After(deadline) {
			t.Fatalf("the node never awaited index %d (log at %d, awaiting ticket %d of %d)",
				index, g.State().LastIndex, g.awaiting, g.written)
		}
		g.mu.Unlock()
		time.Sleep(time.Millisecond)
		g.mu.Lock()
	}
}

// gatedGroup is a group of size nodes on one in-process network, each on
// a gatedWAL, with its leader found.
type gatedGroup struct {
	nodes  []raftport.RaftNode
	wals   []*gatedWAL
	leader int
}

func startGatedGroup(t *testing.T, size int) *gatedGroup {
	t.Helper()
	return startGatedGroupApplying(t, size, func(int, *raftport.CommittedEntry) {})
}

// startGatedGroupApplying is startGatedGroup with apply called for every
// committed entry of node i, from that node's apply loop.
func startGatedGroupApplying(t *testing.T, size int, apply func(i int, ce *raftport.CommittedEntry)) *gatedGroup {
	t.Helper()
	// Registered first, so it runs after the nodes stopped.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	network := transport.NewNetwork(transport.NetworkOptions{NoEcho: true})
	t.Cleanup(network.Close)
	var hosts []*raftport.Server
	var ids []string
	for i := range size {
		// Followers that stop hearing acks for a while must not campaign:
		// elections are left to the test, which starts the first one.
		s := timedHost(network, fmt.Sprintf("gated-%d", i), raftport.Timing{
			MinElectionTimeout: 20 * time.Second, MaxElectionTimeout: 30 * time.Second,
			HeartbeatInterval: 20 * time.Millisecond,
		})
		t.Cleanup(s.Shutdown)
		hosts = append(hosts, s)
		ids = append(ids, s.ID())
	}
	g := &gatedGroup{leader: -1}
	for i, s := range hosts {
		wal := newGatedWAL()
		cfg := &raftport.RaftConfig{Name: "GATED", Store: t.TempDir(), Log: wal}
		if err := s.BootstrapRaftNode(cfg, ids, true); err != nil {
			t.Fatal(err)
		}
		node, err := s.StartRaftNode("", cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Stop(); node.WaitForStop() })
		go applyLoop(node, func(ce *raftport.CommittedEntry) { apply(i, ce) })
		g.nodes, g.wals = append(g.nodes, node), append(g.wals, wal)
	}
	if err := g.nodes[0].CampaignImmediately(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.leader < 0 {
		if time.Now().After(deadline) {
			t.Fatal("no leader elected")
		}
		for i, n := range g.nodes {
			if n.Leader() {
				g.leader = i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The first proposal commits, and reaches every log, before the test
	// holds any: what the test proposes then is alone in its append entry,
	// and no log has an earlier write left that a hold would block.
	first := g.propose(t)
	first.wait(t)
	for _, wal := range g.wals {
		wal.waitAwaited(t, first.at.Index)
	}
	return g
}

// followers are the indexes of the nodes that do not lead.
func (g *gatedGroup) followers() []int {
	var f []int
	for i := range g.nodes {
		if i != g.leader {
			f = append(f, i)
		}
	}
	return f
}

// proposal is a ProposeWait running in the background.
type proposal struct {
	done chan struct{}
	at   raftport.Outcome
	err  error
}

func (g *gatedGroup) propose(t *testing.T) *proposal {
	t.Helper()
	p := &proposal{done: make(chan struct{})}
	leader := g.nodes[g.leader]
	go func() {
		defer close(p.done)
		p.at, p.err = leader.ProposeWait(context.Background(), []byte("x"))
	}()
	return p
}

func (p *proposal) committed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proposal) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the proposal did not commit within 10s")
	}
	if p.err != nil {
		t.Fatalf("proposal: %v", p.err)
	}
}

// settle gives a node that wrongly acted on an entry not yet durable the
// time to do it, so that a check after it would see the commit.
func settle() { time.Sleep(50 * time.Millisecond) }

func TestDeferredDurabilityLoneLeaderCommitsOnlyDurableEntries(t *testing.T) {
	g := startGatedGroup(t, 1)
	wal := g.wals[0]
	wal.hold()
	index := wal.State().LastIndex + 1
	p := g.propose(t)
	wal.waitAwaited(t, index)
	settle()
	if p.committed() {
		t.Fatalf("index %d committed before the leader's log held it durably (err %v)", index, p.err)
	}
	wal.release()
	p.wait(t)
	if p.at.Index != index {
		t.Fatalf("committed at %d, want %d", p.at.Index, index)
	}
}

func TestDeferredDurabilityFollowersAckOnlyDurableEntries(t *testing.T) {
	g := startGatedGroup(t, 3)
	f := g.followers()
	index := g.wals[g.leader].State().LastIndex + 1
	for _, i := range f {
		g.wals[i].hold()
	}
	p := g.propose(t)
	for _, i := range f {
		g.wals[i].waitAwaited(t, index)
	}
	settle()
	if p.committed() {
		t.Fatalf("index %d committed while no follower held it durably (err %v)", index, p.err)
	}
	// One durable follower and the leader make a quorum of three.
	g.wals[f[0]].release()
	p.wait(t)
	g.wals[f[1]].release()
}

func TestDeferredDurabilityLeaderCountsItselfOnlyOnceDurable(t *testing.T) {
	g := startGatedGroup(t, 3)
	f := g.followers()
	leaderWAL := g.wals[g.leader]
	index := leaderWAL.State().LastIndex + 1
	leaderWAL.hold()
	g.wals[f[1]].hold()
	p := g.propose(t)
	leaderWAL.waitAwaited(t, index)
	g.wals[f[0]].waitAwaited(t, index)
	g.wals[f[1]].waitAwaited(t, index)
	settle()
	if p.committed() {
		t.Fatalf("index %d committed with one durable copy of three (err %v)", index, p.err)
	}
	leaderWAL.release()
	p.wait(t)
	g.wals[f[1]].release()
}
