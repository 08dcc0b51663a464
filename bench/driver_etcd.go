package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// etcd raft counts time in ticks the application delivers: a tick is the
// shared heartbeat interval, ten ticks make the election timeout (the
// library randomises it to 10-20 ticks), a heartbeat goes out every tick.
const (
	etcdElectionTicks = heartbeatsPerElection
	// etcdInboxSize lets a node's Ready loop hand a burst of messages to
	// a peer without waiting for the peer to step each one.
	etcdInboxSize = 1024
)

// etcdNode is one member: the library's state machine while it runs, its
// in-memory log (kept across a crash, as files would be) and the channel
// its peers send it messages on.
type etcdNode struct {
	index   int
	id      uint64
	storage *raft.MemoryStorage
	inbox   chan *pb.Message

	mu      sync.Mutex
	node    raft.Node     // nil while stopped
	done    chan struct{} // closed to stop this run of the node's loops
	loops   sync.WaitGroup
	applied uint64        // index of the last entry applied, for snapshots
	conf    *pb.ConfState // as of applied
	snapReq chan chan error
}

// etcdCluster is the driver etcd raft leaves to the application: per node
// a Ready loop (persist, send, apply, Advance) that also ticks, and a
// receive loop stepping what peers sent.
type etcdCluster struct {
	cfg    clusterConfig
	nodes  []*etcdNode
	byID   map[uint64]*etcdNode
	logger raft.Logger
}

func etcdConfig(en *etcdNode, logger raft.Logger) *raft.Config {
	return &raft.Config{
		ID:              en.id,
		ElectionTick:    etcdElectionTicks,
		HeartbeatTick:   1,
		Storage:         en.storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		CheckQuorum:     true,
		PreVote:         true,
		Logger:          logger,
	}
}

func startEtcd(cfg clusterConfig) (cluster, error) {
	c := &etcdCluster{cfg: cfg, byID: make(map[uint64]*etcdNode), logger: &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}}
	peers := make([]raft.Peer, 0, GroupSize)
	for i := range GroupSize {
		peers = append(peers, raft.Peer{ID: uint64(i + 1)})
	}
	for i := range GroupSize {
		en := &etcdNode{index: i, id: uint64(i + 1), storage: raft.NewMemoryStorage(), inbox: make(chan *pb.Message, etcdInboxSize)}
		c.nodes = append(c.nodes, en)
		c.byID[en.id] = en
	}
	for _, en := range c.nodes {
		c.run(en, raft.StartNode(etcdConfig(en, c.logger), peers))
	}
	return c, nil
}

// run starts the loops of one run of en on n.
func (c *etcdCluster) run(en *etcdNode, n raft.Node) {
	en.mu.Lock()
	en.node, en.done, en.snapReq = n, make(chan struct{}), make(chan chan error)
	done, snapReq := en.done, en.snapReq
	en.mu.Unlock()
	en.loops.Add(2)
	go c.readyLoop(en, n, done, snapReq)
	go c.receiveLoop(en, n, done)
}

func (en *etcdNode) running() raft.Node {
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.node
}

func (c *etcdCluster) leader(all bool) int {
	var lead uint64
	for _, en := range c.nodes {
		n := en.running()
		if n == nil {
			continue
		}
		st := n.Status()
		if st.RaftState == raft.StateLeader {
			lead = en.id
			break
		}
	}
	if lead == raft.None {
		return -1
	}
	if all {
		for _, en := range c.nodes {
			if n := en.running(); n != nil && n.Status().Lead != lead {
				return -1
			}
		}
	}
	return c.byID[lead].index
}

func (c *etcdCluster) readyLoop(en *etcdNode, n raft.Node, done chan struct{}, snapReq chan chan error) {
	defer en.loops.Done()
	ticker := time.NewTicker(c.cfg.heartbeat())
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-ticker.C:
			n.Tick()
		case reply := <-snapReq:
			reply <- c.snapshotNow(en)
		case rd := <-n.Ready():
			if err := c.handleReady(en, n, rd); err != nil {
				// A node that cannot persist must stop: going on would
				// acknowledge entries it does not hold.
				c.cfg.fail(fmt.Errorf("etcd node %d: %w", en.id, err))
				return
			}
			n.Advance()
		}
	}
}

// handleReady follows the library's contract without async storage
// writes: persist the snapshot, hard state and entries, then send, then
// apply the committed entries.
func (c *etcdCluster) handleReady(en *etcdNode, n raft.Node, rd raft.Ready) error {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := en.storage.ApplySnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := en.storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	if err := en.storage.Append(rd.Entries); err != nil {
		return err
	}
	for _, m := range rd.Messages {
		c.send(en, n, m)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := c.cfg.sm.restore(en.index, rd.Snapshot.GetData()); err != nil {
			return err
		}
		en.applied = rd.Snapshot.GetMetadata().GetIndex()
		en.conf = proto.CloneOf(rd.Snapshot.GetMetadata().GetConfState())
	}
	for _, e := range rd.CommittedEntries {
		switch e.GetType() {
		case pb.EntryNormal:
			// A new leader commits an empty entry of its term.
			if len(e.GetData()) > 0 {
				c.cfg.sm.apply(en.index, e.GetData())
			}
		case pb.EntryConfChange:
			cc := &pb.ConfChange{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return err
			}
			en.conf = n.ApplyConfChange(cc)
		case pb.EntryConfChangeV2:
			cc := &pb.ConfChangeV2{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return err
			}
			en.conf = n.ApplyConfChange(cc)
		}
		en.applied = e.GetIndex()
	}
	return nil
}

// snapshotNow runs in en's Ready loop, between two Ready batches, where
// the state machine and en.applied agree.
func (c *etcdCluster) snapshotNow(en *etcdNode) error {
	if _, err := en.storage.CreateSnapshot(en.applied, en.conf, c.cfg.sm.snapshot(en.index)); err != nil {
		return err
	}
	return en.storage.Compact(en.applied)
}

// send hands m to its recipient. Like hashicorp's InmemTransport it passes
// the message itself, not an encoding of it.
func (c *etcdCluster) send(from *etcdNode, n raft.Node, m *pb.Message) {
	to, ok := c.byID[m.GetTo()]
	var toDone chan struct{}
	if ok {
		to.mu.Lock()
		if to.node != nil {
			toDone = to.done
		}
		to.mu.Unlock()
	}
	if toDone == nil {
		n.ReportUnreachable(m.GetTo())
		return
	}
	select {
	case to.inbox <- m:
	case <-toDone:
		n.ReportUnreachable(m.GetTo())
		return
	case <-c.cfg.ctx.Done():
		return
	}
	// The library pauses a follower it sent a snapshot to until told.
	if m.GetType() == pb.MsgSnap {
		n.ReportSnapshot(to.id, raft.SnapshotFinish)
	}
}

func (c *etcdCluster) receiveLoop(en *etcdNode, n raft.Node, done chan struct{}) {
	defer en.loops.Done()
	for {
		select {
		case <-done:
			return
		case m := <-en.inbox:
			if err := n.Step(c.cfg.ctx, m); err != nil {
				if c.cfg.ctx.Err() != nil || errors.Is(err, raft.ErrStopped) {
					return
				}
				c.cfg.fail(fmt.Errorf("etcd node %d: step %v: %w", en.id, m.GetType(), err))
				return
			}
		}
	}
}

func (c *etcdCluster) propose(node int, data []byte) error {
	return c.nodes[node].running().Propose(c.cfg.ctx, data)
}

// commit is what etcd raft leaves to its users (etcd's server does the
// same with its wait registry): propose, then wait for the entry to come
// out of the leader's apply loop.
func (c *etcdCluster) commit(ctx context.Context, node int, data []byte, t ticket) error {
	if err := c.nodes[node].running().Propose(ctx, data); err != nil {
		return err
	}
	return t.wait(ctx)
}

// stop halts en's loops and the library's node; the MemoryStorage stays,
// as a durable log's files would.
func (c *etcdCluster) stop(node int) error {
	en := c.nodes[node]
	en.mu.Lock()
	n, done := en.node, en.done
	en.node = nil
	en.mu.Unlock()
	close(done)
	n.Stop()
	en.loops.Wait()
	// Messages queued for the stopped run are lost with it.
	for {
		select {
		case <-en.inbox:
		default:
			return nil
		}
	}
}

// restart starts en again on its storage; it applies its log from the
// start (or from its snapshot), as its state machine lost everything.
func (c *etcdCluster) restart(node int) error {
	en := c.nodes[node]
	en.applied, en.conf = 0, nil
	c.run(en, raft.RestartNode(etcdConfig(en, c.logger)))
	return nil
}

func (c *etcdCluster) snapshot(node int) error {
	en := c.nodes[node]
	en.mu.Lock()
	req := en.snapReq
	en.mu.Unlock()
	return askLoop(c.cfg.ctx, req)
}

func (c *etcdCluster) fsyncs() (uint64, bool) { return 0, false }

// close has nothing to report: Stop cannot fail and MemoryStorage holds
// no files.
func (c *etcdCluster) close() error {
	for i, en := range c.nodes {
		if en.running() != nil {
			if err := c.stop(i); err != nil {
				return err
			}
		}
	}
	return nil
}
