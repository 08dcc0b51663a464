package bench

import (
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

// etcd raft counts time in ticks the application delivers: with a 5ms
// tick, elections come after 50-100ms and heartbeats every 5ms.
const (
	etcdTick          = 5 * time.Millisecond
	etcdElectionTicks = 10
	// etcdInboxSize lets a node's Ready loop hand a burst of messages to
	// a peer without waiting for the peer to step each one.
	etcdInboxSize = 1024
)

// etcdNode is one member: the library's state machine, its in-memory log
// and the channel its peers send it messages on.
type etcdNode struct {
	index   int
	id      uint64
	node    raft.Node
	storage *raft.MemoryStorage
	inbox   chan *pb.Message
}

// etcdGroup is the driver etcd raft leaves to the application: per node a
// Ready loop (persist, send, apply, Advance) that also ticks, and a
// receive loop stepping what peers sent.
type etcdGroup struct {
	cfg    groupConfig
	nodes  []*etcdNode
	byID   map[uint64]*etcdNode
	leader *etcdNode
	done   chan struct{}
	wg     sync.WaitGroup
}

func startEtcd(cfg groupConfig) (group, int, error) {
	g := &etcdGroup{cfg: cfg, byID: make(map[uint64]*etcdNode), done: make(chan struct{})}
	peers := make([]raft.Peer, 0, GroupSize)
	for i := range GroupSize {
		peers = append(peers, raft.Peer{ID: uint64(i + 1)})
	}
	logger := &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	for i := range GroupSize {
		en := &etcdNode{index: i, id: uint64(i + 1), storage: raft.NewMemoryStorage(), inbox: make(chan *pb.Message, etcdInboxSize)}
		en.node = raft.StartNode(&raft.Config{
			ID:              en.id,
			ElectionTick:    etcdElectionTicks,
			HeartbeatTick:   1,
			Storage:         en.storage,
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			CheckQuorum:     true,
			PreVote:         true,
			Logger:          logger,
		}, peers)
		g.nodes = append(g.nodes, en)
		g.byID[en.id] = en
	}
	for _, en := range g.nodes {
		g.wg.Add(2)
		go g.readyLoop(en)
		go g.receiveLoop(en)
	}
	leader, err := waitFor(cfg.timeout, g.leaderIndex)
	if err != nil {
		return nil, 0, errors.Join(err, g.close())
	}
	g.leader = g.nodes[leader]
	return g, leader, nil
}

// leaderIndex reports the leader once every node follows it.
func (g *etcdGroup) leaderIndex() (int, bool) {
	var lead uint64
	for i, en := range g.nodes {
		st := en.node.Status()
		if i == 0 {
			lead = st.Lead
		}
		if lead == raft.None || st.Lead != lead {
			return 0, false
		}
	}
	return g.byID[lead].index, true
}

func (g *etcdGroup) readyLoop(en *etcdNode) {
	defer g.wg.Done()
	ticker := time.NewTicker(etcdTick)
	defer ticker.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-ticker.C:
			en.node.Tick()
		case rd := <-en.node.Ready():
			if err := g.handleReady(en, rd); err != nil {
				// A node that cannot persist must stop: going on would
				// acknowledge entries it does not hold.
				g.cfg.fail(fmt.Errorf("etcd node %d: %w", en.id, err))
				return
			}
			en.node.Advance()
		}
	}
}

// handleReady follows the library's contract without async storage
// writes: persist the snapshot, hard state and entries, then send, then
// apply the committed entries.
func (g *etcdGroup) handleReady(en *etcdNode, rd raft.Ready) error {
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
		g.send(en, m)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := g.cfg.replicas[en.index].restore(rd.Snapshot.GetData()); err != nil {
			return err
		}
	}
	for _, e := range rd.CommittedEntries {
		switch e.GetType() {
		case pb.EntryNormal:
			// A new leader commits an empty entry of its term.
			if len(e.GetData()) > 0 {
				g.cfg.apply(en.index, e.GetData())
			}
		case pb.EntryConfChange:
			cc := &pb.ConfChange{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return err
			}
			en.node.ApplyConfChange(cc)
		case pb.EntryConfChangeV2:
			cc := &pb.ConfChangeV2{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return err
			}
			en.node.ApplyConfChange(cc)
		}
	}
	return nil
}

// send hands m to its recipient. Like hashicorp's InmemTransport it passes
// the message itself, not an encoding of it.
func (g *etcdGroup) send(from *etcdNode, m *pb.Message) {
	to, ok := g.byID[m.GetTo()]
	if !ok {
		from.node.ReportUnreachable(m.GetTo())
		return
	}
	select {
	case to.inbox <- m:
	case <-g.done:
		return
	}
	// The library pauses a follower it sent a snapshot to until told.
	if m.GetType() == pb.MsgSnap {
		from.node.ReportSnapshot(to.id, raft.SnapshotFinish)
	}
}

func (g *etcdGroup) receiveLoop(en *etcdNode) {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case m := <-en.inbox:
			if err := en.node.Step(g.cfg.ctx, m); err != nil {
				if g.cfg.ctx.Err() != nil || errors.Is(err, raft.ErrStopped) {
					return
				}
				g.cfg.fail(fmt.Errorf("etcd node %d: step %v: %w", en.id, m.GetType(), err))
				return
			}
		}
	}
}

func (g *etcdGroup) propose(data []byte) error {
	return g.leader.node.Propose(g.cfg.ctx, data)
}

// close has nothing to report: Stop cannot fail and MemoryStorage holds
// no files.
func (g *etcdGroup) close() error {
	close(g.done)
	for _, en := range g.nodes {
		en.node.Stop()
	}
	g.wg.Wait()
	return nil
}
