package bench

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// raftportTiming is the port's test timing: elections in tens of
// milliseconds, yet heartbeats frequent enough that a loaded two-core
// machine does not see leaders flap.
func raftportTiming() raftport.Timing {
	return raftport.Timing{
		MinElectionTimeout: 250 * time.Millisecond,
		MaxElectionTimeout: 500 * time.Millisecond,
		MinCampaignTimeout: 10 * time.Millisecond,
		MaxCampaignTimeout: 60 * time.Millisecond,
		HeartbeatInterval:  25 * time.Millisecond,
		LostQuorumInterval: 500 * time.Millisecond,
		LostQuorumCheck:    100 * time.Millisecond,
	}
}

const raftportGroupName = "BENCH"

type raftportGroup struct {
	network *transport.Network
	servers []*raftport.Server
	conns   []transport.Conn
	nodes   []raftport.RaftNode
	leader  raftport.RaftNode
	loops   sync.WaitGroup
}

func startRaftportMem(cfg groupConfig) (group, int, error) {
	return startRaftport(cfg, func(string) (storage.WAL, error) { return storage.NewMemWAL(), nil })
}

// startRaftportFile gives each node a FileWAL with the default options,
// so every append is fsync'd before it is acknowledged.
func startRaftportFile(cfg groupConfig) (group, int, error) {
	return startRaftport(cfg, func(dir string) (storage.WAL, error) {
		return storage.OpenFileWAL(filepath.Join(dir, "wal"), storage.WALOptions{})
	})
}

func startRaftport(cfg groupConfig, openWAL func(dir string) (storage.WAL, error)) (group, int, error) {
	// A NATS server never hands a node its own publishes, and the node
	// relies on that: NoEcho.
	g := &raftportGroup{network: transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})}
	peers := make([]string, 0, GroupSize)
	for i := range GroupSize {
		name := fmt.Sprintf("bench-%d", i+1)
		conn, err := g.network.Dial(raftport.NodeID(name))
		if err != nil {
			return nil, 0, errors.Join(err, g.close())
		}
		g.conns = append(g.conns, conn)
		srv, err := raftport.NewServer(raftport.ServerConfig{
			Name:    name,
			Cluster: "bench",
			Connect: func(string) (transport.Conn, error) { return conn, nil },
			Timing:  raftportTiming(),
		})
		if err != nil {
			return nil, 0, errors.Join(err, g.close())
		}
		g.servers = append(g.servers, srv)
		peers = append(peers, srv.ID())
	}
	for i, srv := range g.servers {
		dir := filepath.Join(cfg.dir, srv.Name())
		wal, err := openWAL(dir)
		if err != nil {
			return nil, 0, errors.Join(err, g.close())
		}
		rc := &raftport.RaftConfig{Name: raftportGroupName, Store: filepath.Join(dir, "store"), Log: wal}
		if err := srv.BootstrapRaftNode(rc, peers, true); err != nil {
			return nil, 0, errors.Join(err, wal.Close(), g.close())
		}
		n, err := srv.StartRaftNode("", rc)
		if err != nil {
			return nil, 0, errors.Join(err, wal.Close(), g.close())
		}
		g.nodes = append(g.nodes, n)
		g.loops.Add(1)
		go g.applyLoop(i, n, cfg)
	}
	// Skip the first election timeout: setup is not what is measured.
	if err := g.nodes[0].CampaignImmediately(); err != nil {
		return nil, 0, errors.Join(err, g.close())
	}
	leader, err := waitFor(cfg.timeout, g.leaderIndex)
	if err != nil {
		return nil, 0, errors.Join(err, g.close())
	}
	g.leader = g.nodes[leader]
	return g, leader, nil
}

// leaderIndex reports the leader once every node follows it.
func (g *raftportGroup) leaderIndex() (int, bool) {
	for i, n := range g.nodes {
		if !n.Leader() {
			continue
		}
		for _, other := range g.nodes {
			if other.GroupLeader() != n.ID() {
				return 0, false
			}
		}
		return i, true
	}
	return 0, false
}

// applyLoop is node i's state machine loop, as a NATS stream's: drain the
// apply queue, report each committed index as applied, recycle.
func (g *raftportGroup) applyLoop(i int, n raftport.RaftNode, cfg groupConfig) {
	defer g.loops.Done()
	quit, aq := n.QuitC(), n.ApplyQ()
	for {
		select {
		case <-quit:
			return
		case <-aq.Ch():
			batch := aq.Pop()
			for _, ce := range batch {
				// A nil entry ends a replay or catchup: nothing to apply.
				if ce == nil {
					continue
				}
				for _, e := range ce.Entries {
					switch e.Type {
					case raftport.EntryNormal:
						cfg.apply(i, e.Data)
					case raftport.EntrySnapshot:
						if err := cfg.replicas[i].restore(e.Data); err != nil {
							cfg.fail(err)
						}
					}
				}
				n.Applied(ce.Index)
				ce.ReturnToPool()
			}
			aq.Recycle(&batch)
		}
	}
}

func (g *raftportGroup) propose(data []byte) error { return g.leader.Propose(data) }

func (g *raftportGroup) close() error {
	for _, srv := range g.servers {
		srv.Shutdown()
	}
	g.loops.Wait()
	var err error
	for _, conn := range g.conns {
		if cerr := conn.Close(); cerr != nil && !errors.Is(cerr, transport.ErrClosed) {
			err = errors.Join(err, cerr)
		}
	}
	g.network.Close()
	return err
}

// waitFor polls cond until it reports ok or timeout passes.
func waitFor(timeout time.Duration, cond func() (int, bool)) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if v, ok := cond(); ok {
			return v, nil
		}
		if !time.Now().Before(deadline) {
			return 0, fmt.Errorf("no leader within %v", timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
