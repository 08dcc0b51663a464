package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// hashicorpConfig sets hashicorp/raft to the shared election timing and
// keeps snapshots out of the measured runs.
func hashicorpConfig(id raft.ServerID, election time.Duration) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	// A follower campaigns after a random HeartbeatTimeout..2×; the leader
	// heartbeats every HeartbeatTimeout/10.
	conf.HeartbeatTimeout = election
	conf.ElectionTimeout = election
	conf.LeaderLeaseTimeout = election
	// The lowest its validation accepts: how long replication waits
	// before telling followers the commit index without new entries.
	conf.CommitTimeout = time.Millisecond
	conf.SnapshotThreshold = 1 << 62
	conf.SnapshotInterval = time.Hour
	// What a snapshot leaves of the log: far less than a catch-up lacks,
	// so that a follower behind a snapshot needs the snapshot.
	conf.TrailingLogs = 1024
	conf.LogOutput = io.Discard
	// Without it Apply hands each command to the leader loop one at a
	// time; with it the leader takes up to MaxAppendEntries at once, the
	// setting a throughput-minded user of the library would pick.
	conf.BatchApplyCh = true
	return conf
}

// hashicorpStores is where one node keeps its log, its term and vote, and
// its snapshots; open gives them back after a restart.
type hashicorpStores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	close  func() error
}

type hashicorpNode struct {
	addr   raft.ServerAddress
	stores hashicorpStores
	trans  *raft.InmemTransport
	raft   *raft.Raft
}

type hashicorpCluster struct {
	cfg   clusterConfig
	open  func(node int) (hashicorpStores, error)
	mu    sync.Mutex // guards each node's raft and trans across stop and restart
	nodes []*hashicorpNode
	// futures[k % MaxWindow] is the future of the k-th pipelined
	// proposal, checked when its slot is reused: the window is at most
	// MaxWindow, so by then the entry was applied and its future resolved.
	// Futures are never waited on otherwise: one still queued when the
	// node shuts down is never resolved.
	futures  []raft.ApplyFuture
	proposed int
}

func startHashicorpMem(cfg clusterConfig) (cluster, error) {
	stores := make([]hashicorpStores, GroupSize)
	for i := range stores {
		store := raft.NewInmemStore()
		stores[i] = hashicorpStores{logs: store, stable: store, snaps: raft.NewInmemSnapshotStore(), close: func() error { return nil }}
	}
	// A crashed in-memory node keeps its store objects, as it would keep
	// files.
	return startHashicorp(cfg, func(i int) (hashicorpStores, error) { return stores[i], nil })
}

// startHashicorpBolt keeps each node's log and term in a bolt file with
// raft-boltdb's default NoSync=false, so every write transaction (a batch
// of entries on the leader, one append RPC on a follower) is fsync'd
// before it is acknowledged, and its snapshots in files.
func startHashicorpBolt(cfg clusterConfig) (cluster, error) {
	return startHashicorp(cfg, func(i int) (hashicorpStores, error) {
		dir := filepath.Join(cfg.dir, fmt.Sprintf("node-%d", i+1))
		snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
		if err != nil {
			return hashicorpStores{}, err
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: false})
		if err != nil {
			return hashicorpStores{}, err
		}
		return hashicorpStores{logs: bolt, stable: bolt, snaps: snaps, close: bolt.Close}, nil
	})
}

func startHashicorp(cfg clusterConfig, open func(node int) (hashicorpStores, error)) (cluster, error) {
	c := &hashicorpCluster{cfg: cfg, open: open}
	var servers []raft.Server
	for i := range GroupSize {
		addr := raft.ServerAddress(fmt.Sprintf("bench-%d", i+1))
		c.nodes = append(c.nodes, &hashicorpNode{addr: addr})
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(addr), Address: addr})
	}
	configuration := raft.Configuration{Servers: servers}
	for i, hn := range c.nodes {
		stores, err := open(i)
		if err != nil {
			return nil, errors.Join(err, c.close())
		}
		hn.stores = stores
		// Bootstrapping only writes the configuration to the stores; the
		// transport it is given is not used.
		_, trans := raft.NewInmemTransport(hn.addr)
		if err := raft.BootstrapCluster(hashicorpConfig(raft.ServerID(hn.addr), c.cfg.election), stores.logs, stores.stable, stores.snaps, trans, configuration); err != nil {
			return nil, errors.Join(err, trans.Close(), c.close())
		}
		if err := trans.Close(); err != nil {
			return nil, errors.Join(err, c.close())
		}
	}
	for i := range c.nodes {
		if err := c.startNode(i, false); err != nil {
			return nil, errors.Join(err, c.close())
		}
	}
	return c, nil
}

// startNode starts node i on its stores with a fresh transport connected
// both ways to every running node.
func (c *hashicorpCluster) startNode(i int, reopen bool) error {
	hn := c.nodes[i]
	if reopen {
		stores, err := c.open(i)
		if err != nil {
			return err
		}
		hn.stores = stores
	}
	_, trans := raft.NewInmemTransport(hn.addr)
	r, err := raft.NewRaft(hashicorpConfig(raft.ServerID(hn.addr), c.cfg.election), &hashicorpFSM{node: i, cfg: c.cfg}, hn.stores.logs, hn.stores.stable, hn.stores.snaps, trans)
	if err != nil {
		return errors.Join(err, trans.Close())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hn.trans, hn.raft = trans, r
	for _, other := range c.nodes {
		if other != hn && other.trans != nil {
			trans.Connect(other.addr, other.trans)
			other.trans.Connect(hn.addr, trans)
		}
	}
	return nil
}

func (c *hashicorpCluster) node(i int) *raft.Raft {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].raft
}

func (c *hashicorpCluster) leader(all bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, hn := range c.nodes {
		if hn.raft == nil || hn.raft.State() != raft.Leader {
			continue
		}
		if !all {
			return i
		}
		for _, other := range c.nodes {
			if other.raft == nil {
				continue
			}
			if addr, _ := other.raft.LeaderWithID(); addr != hn.addr {
				return -1
			}
		}
		return i
	}
	return -1
}

// propose keeps the future and reports the error of the one whose slot
// it takes; the pipelined window itself waits on the state machine. Only
// the session's proposer calls it.
func (c *hashicorpCluster) propose(node int, data []byte) error {
	if c.futures == nil {
		c.futures = make([]raft.ApplyFuture, MaxWindow)
	}
	slot := c.proposed % len(c.futures)
	c.proposed++
	if prev := c.futures[slot]; prev != nil {
		if err := prev.Error(); err != nil {
			return fmt.Errorf("an earlier pipelined proposal: %w", err)
		}
	}
	c.futures[slot] = c.node(node).Apply(data, 0)
	return nil
}

// commit waits on the future Apply returns, the library's own way to
// wait for a commit: it resolves once the leader's state machine applied
// the entry.
func (c *hashicorpCluster) commit(ctx context.Context, node int, data []byte, _ ticket) error {
	timeout := time.Duration(0)
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	return c.node(node).Apply(data, timeout).Error()
}

func (c *hashicorpCluster) stop(node int) error {
	c.mu.Lock()
	hn := c.nodes[node]
	r := hn.raft
	hn.raft = nil
	for _, other := range c.nodes {
		if other != hn && other.trans != nil {
			other.trans.Disconnect(hn.addr)
		}
	}
	hn.trans = nil
	c.mu.Unlock()
	return errors.Join(r.Shutdown().Error(), hn.stores.close())
}

func (c *hashicorpCluster) restart(node int) error { return c.startNode(node, true) }

func (c *hashicorpCluster) snapshot(node int) error { return c.node(node).Snapshot().Error() }

// fsyncs are not counted: bolt does not report them (it does two, data
// and meta page, per write transaction).
func (c *hashicorpCluster) fsyncs() (uint64, bool) { return 0, false }

func (c *hashicorpCluster) close() error {
	c.mu.Lock()
	var rafts []*raft.Raft
	for _, hn := range c.nodes {
		if hn.raft != nil {
			rafts = append(rafts, hn.raft)
		}
	}
	c.mu.Unlock()
	var err error
	for _, r := range rafts {
		err = errors.Join(err, r.Shutdown().Error())
	}
	for _, hn := range c.nodes {
		if hn.raft != nil && hn.stores.close != nil {
			err = errors.Join(err, hn.stores.close())
		}
	}
	return err
}

// hashicorpFSM is node's state machine: the replica, fed by the log.
type hashicorpFSM struct {
	node int
	cfg  clusterConfig
}

// Apply gets only command entries: hashicorp/raft keeps no-ops and
// configuration changes to itself.
func (f *hashicorpFSM) Apply(l *raft.Log) any {
	f.cfg.sm.apply(f.node, l.Data)
	return nil
}

func (f *hashicorpFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &replicaSnapshot{state: f.cfg.sm.snapshot(f.node)}, nil
}

func (f *hashicorpFSM) Restore(rc io.ReadCloser) error {
	snap, err := io.ReadAll(rc)
	if err = errors.Join(err, rc.Close()); err != nil {
		return err
	}
	return f.cfg.sm.restore(f.node, snap)
}

// replicaSnapshot is a replica's encoded state, taken in Snapshot.
type replicaSnapshot struct{ state []byte }

func (s *replicaSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.state); err != nil {
		return errors.Join(err, sink.Cancel())
	}
	return sink.Close()
}

// Release drops the state: hashicorp/raft may hold the FSMSnapshot value
// longer than it needs the bytes.
func (s *replicaSnapshot) Release() { s.state = nil }
