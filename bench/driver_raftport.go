package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// raftportTiming is the shared election timing in raftport's terms. The
// campaign timeout is the extra random wait of a node whose election
// timer fired; it stays at the port's test setting.
func raftportTiming(cfg clusterConfig) raftport.Timing {
	return raftport.Timing{
		MinElectionTimeout: cfg.election,
		MaxElectionTimeout: 2 * cfg.election,
		MinCampaignTimeout: 10 * time.Millisecond,
		MaxCampaignTimeout: 60 * time.Millisecond,
		HeartbeatInterval:  cfg.heartbeat(),
		LostQuorumInterval: 4 * cfg.election,
		LostQuorumCheck:    cfg.election / 2,
	}
}

const raftportGroupName = "BENCH"

// raftportNode is one member: its host, its node while it runs, and the
// log it was started on.
type raftportNode struct {
	srv  *raftport.Server
	conn transport.Conn
	rc   *raftport.RaftConfig
	dir  string

	mu   sync.Mutex
	node raftport.RaftNode
	wal  storage.WAL
	// snapReq asks the apply loop for a snapshot between two batches,
	// where the state machine and the node's applied index agree.
	snapReq chan chan error
	// applied is how far the apply loop of the running node got.
	applied *appliedMark
	loop    sync.WaitGroup
	// fsyncsBefore adds up the fsyncs of the logs of earlier runs of this
	// node (before a restart).
	fsyncsBefore uint64
}

type raftportCluster struct {
	cfg     clusterConfig
	network *transport.Network // nil over NATS
	nodes   []*raftportNode
	openWAL func(dir string) (storage.WAL, error)
}

func startRaftportMem(cfg clusterConfig) (cluster, error) {
	return startRaftport(cfg, func(string) (storage.WAL, error) { return storage.NewMemWAL(), nil })
}

// startRaftportFile gives each node a FileWAL with the default options:
// every append is fsync'd before it is acknowledged.
func startRaftportFile(cfg clusterConfig) (cluster, error) {
	return startRaftport(cfg, func(dir string) (storage.WAL, error) {
		return storage.OpenFileWAL(filepath.Join(dir, "wal"), storage.WALOptions{})
	})
}

func startRaftport(cfg clusterConfig, openWAL func(dir string) (storage.WAL, error)) (cluster, error) {
	c := &raftportCluster{cfg: cfg, openWAL: openWAL}
	connect := cfg.connect
	if connect == nil {
		// A NATS server never hands a node its own publishes, and the
		// node relies on that: NoEcho.
		c.network = transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})
		connect = func(_ int, name string) (transport.Conn, error) {
			return c.network.Dial(raftport.NodeID(name))
		}
	}
	peers := make([]string, 0, GroupSize)
	for i := range GroupSize {
		name := fmt.Sprintf("bench-%d", i+1)
		conn, err := connect(i, name)
		if err != nil {
			return nil, errors.Join(err, c.close())
		}
		if cfg.wrap != nil {
			wrapped, err := cfg.wrap(raftport.NodeID(name), conn)
			if err != nil {
				return nil, errors.Join(err, conn.Close(), c.close())
			}
			conn = wrapped
		}
		srv, err := raftport.NewServer(raftport.ServerConfig{
			Name:    name,
			Cluster: "bench",
			Connect: func(string) (transport.Conn, error) { return conn, nil },
			Timing:  raftportTiming(cfg),
		})
		if err != nil {
			return nil, errors.Join(err, conn.Close(), c.close())
		}
		dir := filepath.Join(cfg.dir, name)
		c.nodes = append(c.nodes, &raftportNode{srv: srv, conn: conn, dir: dir,
			rc: &raftport.RaftConfig{Name: raftportGroupName, Store: filepath.Join(dir, "store")}})
		peers = append(peers, srv.ID())
	}
	for i, rn := range c.nodes {
		if err := rn.srv.BootstrapRaftNode(rn.rc, peers, true); err != nil {
			return nil, errors.Join(err, c.close())
		}
		if err := c.startNode(i); err != nil {
			return nil, errors.Join(err, c.close())
		}
	}
	// Skip the first election timeout: setup is not what is measured. A
	// node that started long before the others may have won already.
	if first := c.nodes[0].running(); !first.Leader() {
		if err := first.CampaignImmediately(); err != nil && !first.Leader() {
			return nil, errors.Join(err, c.close())
		}
	}
	return c, nil
}

func (rn *raftportNode) running() raftport.RaftNode {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.node
}

// startNode opens node i's log and starts it with an apply loop.
func (c *raftportCluster) startNode(i int) error {
	rn := c.nodes[i]
	wal, err := c.openWAL(rn.dir)
	if err != nil {
		return err
	}
	rn.rc.Log = wal
	n, err := rn.srv.StartRaftNode("", rn.rc)
	if err != nil {
		return errors.Join(err, wal.Close())
	}
	rn.mu.Lock()
	rn.node, rn.wal = n, wal
	rn.snapReq = make(chan chan error)
	rn.applied = newAppliedMark()
	loop := applyLoop{c: c, i: i, rn: rn, n: n, snapReq: rn.snapReq, applied: rn.applied}
	rn.mu.Unlock()
	rn.loop.Add(1)
	go loop.run()
	return nil
}

// applyLoop is node i's state machine loop, as a NATS stream's: drain the
// apply queue, report each committed index as applied, recycle.
type applyLoop struct {
	c       *raftportCluster
	i       int
	rn      *raftportNode
	n       raftport.RaftNode
	snapReq chan chan error
	applied *appliedMark
}

func (l applyLoop) run() {
	defer l.rn.loop.Done()
	quit, aq := l.n.QuitC(), l.n.ApplyQ()
	for {
		select {
		case <-quit:
			return
		case done := <-l.snapReq:
			done <- l.n.InstallSnapshot(l.c.cfg.sm.snapshot(l.i), false)
		case <-aq.Ch():
			batch := aq.Pop()
			for _, ce := range batch {
				// A nil entry ends a replay or catchup: nothing to apply.
				if ce != nil {
					l.apply(ce)
				}
			}
			aq.Recycle(&batch)
		}
	}
}

// apply hands ce's entries to the state machine, then tells the node and
// the proposers waiting on the index.
func (l applyLoop) apply(ce *raftport.CommittedEntry) {
	sm := l.c.cfg.sm
	for _, e := range ce.Entries {
		switch e.Type {
		case raftport.EntryNormal:
			sm.apply(l.i, e.Data)
		case raftport.EntrySnapshot:
			if err := sm.restore(l.i, e.Data); err != nil {
				l.c.cfg.fail(err)
			}
		}
	}
	l.n.Applied(ce.Index)
	l.applied.advance(ce.Index)
	ce.ReturnToPool()
}

// appliedMark is the index of the last CommittedEntry an apply loop
// applied (the loop is its only writer, and indexes only grow), with a
// channel closed and replaced each time it moves.
type appliedMark struct {
	index atomic.Uint64
	mu    sync.Mutex
	moved chan struct{}
}

func newAppliedMark() *appliedMark { return &appliedMark{moved: make(chan struct{})} }

func (m *appliedMark) advance(index uint64) {
	m.index.Store(index)
	m.mu.Lock()
	close(m.moved)
	m.moved = make(chan struct{})
	m.mu.Unlock()
}

// next is the channel the next advance closes.
func (m *appliedMark) next() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.moved
}

// reached returns once the loop applied index, or when ctx ends. The
// index is read again after taking the channel: an advance stores before
// it swaps, so none is missed between the two.
func (m *appliedMark) reached(ctx context.Context, index uint64) error {
	for m.index.Load() < index {
		moved := m.next()
		if m.index.Load() >= index {
			break
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("the leader applied up to index %d, not %d: %w", m.index.Load(), index, ctx.Err())
		}
	}
	return nil
}

func (c *raftportCluster) leader(all bool) int {
	lead := -1
	for i, rn := range c.nodes {
		if n := rn.running(); n != nil && n.State() != raftport.Closed && n.Leader() {
			lead = i
			break
		}
	}
	if lead < 0 || !all {
		return lead
	}
	id := c.nodes[lead].srv.ID()
	for _, rn := range c.nodes {
		if n := rn.running(); n != nil && n.State() != raftport.Closed && n.GroupLeader() != id {
			return -1
		}
	}
	return lead
}

func (c *raftportCluster) propose(node int, data []byte) error {
	return c.nodes[node].running().Propose(data)
}

// commit blocks as a raftport user does: ProposeWait returns once the
// leader committed the entry, with its index; it does so before the state
// machine applied it, so the proposer then waits for its own apply loop to
// pass that index, as a user who needs the command's effect does. That is
// where hashicorp's Apply future and etcd's wait return too.
func (c *raftportCluster) commit(ctx context.Context, node int, data []byte, _ ticket) error {
	rn := c.nodes[node]
	rn.mu.Lock()
	n, applied := rn.node, rn.applied
	rn.mu.Unlock()
	if n == nil {
		return fmt.Errorf("node %d is stopped", node)
	}
	at, err := n.ProposeWait(ctx, data)
	if err != nil {
		return err
	}
	return applied.reached(ctx, at.Index)
}

func (c *raftportCluster) stop(node int) error {
	rn := c.nodes[node]
	n := rn.running()
	n.Stop()
	n.WaitForStop()
	rn.loop.Wait()
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.fsyncsBefore += walSyncs(rn.wal)
	rn.node, rn.wal = nil, nil
	return nil
}

func (c *raftportCluster) restart(node int) error { return c.startNode(node) }

func (c *raftportCluster) snapshot(node int) error {
	rn := c.nodes[node]
	rn.mu.Lock()
	req := rn.snapReq
	rn.mu.Unlock()
	return askLoop(c.cfg.ctx, req)
}

func walSyncs(w storage.WAL) uint64 {
	if fw, ok := w.(*storage.FileWAL); ok {
		return fw.Stats().Syncs
	}
	return 0
}

// fsyncs counts the FileWAL's segment fsyncs, the ones on the commit
// path; the term/vote and peer files are written on elections only.
func (c *raftportCluster) fsyncs() (uint64, bool) {
	var total uint64
	counted := false
	for _, rn := range c.nodes {
		rn.mu.Lock()
		total += rn.fsyncsBefore + walSyncs(rn.wal)
		_, file := rn.wal.(*storage.FileWAL)
		counted = counted || file
		rn.mu.Unlock()
	}
	return total, counted
}

func (c *raftportCluster) close() error {
	for _, rn := range c.nodes {
		rn.srv.Shutdown()
	}
	var err error
	for _, rn := range c.nodes {
		rn.loop.Wait()
		if cerr := rn.conn.Close(); cerr != nil && !errors.Is(cerr, transport.ErrClosed) {
			err = errors.Join(err, cerr)
		}
	}
	if c.network != nil {
		c.network.Close()
	}
	return err
}
