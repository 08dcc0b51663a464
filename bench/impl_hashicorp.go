package bench

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// hashicorpConfig shortens hashicorp/raft's timeouts to those of its own
// in-memory tests, and keeps snapshots out of the measured run. The
// CommitTimeout is the lowest its validation accepts: at the tests' 5ms
// throughput here halved and varied threefold between runs.
func hashicorpConfig(id raft.ServerID) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = time.Millisecond
	conf.SnapshotThreshold = 1 << 62
	conf.SnapshotInterval = time.Hour
	conf.LogOutput = io.Discard
	// Without it Apply hands each command to the leader loop one at a
	// time; with it the leader takes up to MaxAppendEntries at once, the
	// setting a throughput-minded user of the library would pick.
	conf.BatchApplyCh = true
	return conf
}

type hashicorpGroup struct {
	rafts      []*raft.Raft
	transports []*raft.InmemTransport
	leader     *raft.Raft
	// futures[k % len] is the future of the k-th proposal; its error is
	// checked when the slot is reused, by which time the window has seen
	// it applied, and for the rest at close.
	futures []raft.ApplyFuture
	next    int
}

func startHashicorp(cfg groupConfig) (group, int, error) {
	g := &hashicorpGroup{futures: make([]raft.ApplyFuture, cfg.window)}
	var servers []raft.Server
	for i := range GroupSize {
		addr, trans := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("bench-%d", i+1)))
		g.transports = append(g.transports, trans)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(addr), Address: addr})
	}
	for _, a := range g.transports {
		for _, b := range g.transports {
			if a != b {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	configuration := raft.Configuration{Servers: servers}
	for i, trans := range g.transports {
		conf := hashicorpConfig(servers[i].ID)
		store := raft.NewInmemStore()
		snaps := raft.NewInmemSnapshotStore()
		if err := raft.BootstrapCluster(conf, store, store, snaps, trans, configuration); err != nil {
			return nil, 0, errors.Join(err, g.close())
		}
		r, err := raft.NewRaft(conf, &hashicorpFSM{node: i, cfg: cfg}, store, store, snaps, trans)
		if err != nil {
			return nil, 0, errors.Join(err, g.close())
		}
		g.rafts = append(g.rafts, r)
	}
	leader, err := waitFor(cfg.timeout, g.leaderIndex)
	if err != nil {
		return nil, 0, errors.Join(err, g.close())
	}
	g.leader = g.rafts[leader]
	return g, leader, nil
}

// leaderIndex reports the leader once every node follows it.
func (g *hashicorpGroup) leaderIndex() (int, bool) {
	for i, r := range g.rafts {
		if r.State() != raft.Leader {
			continue
		}
		for _, other := range g.rafts {
			if addr, _ := other.LeaderWithID(); addr != g.transports[i].LocalAddr() {
				return 0, false
			}
		}
		return i, true
	}
	return 0, false
}

func (g *hashicorpGroup) propose(data []byte) error {
	slot := g.next % len(g.futures)
	g.next++
	if prev := g.futures[slot]; prev != nil {
		if err := prev.Error(); err != nil {
			return err
		}
	}
	g.futures[slot] = g.leader.Apply(data, 0)
	return nil
}

func (g *hashicorpGroup) close() error {
	var err error
	for i, f := range g.futures {
		if f != nil {
			err = errors.Join(err, f.Error())
			g.futures[i] = nil
		}
	}
	for _, r := range g.rafts {
		err = errors.Join(err, r.Shutdown().Error())
	}
	for _, t := range g.transports {
		err = errors.Join(err, t.Close())
	}
	return err
}

// hashicorpFSM is node's state machine: the replica, fed by the log.
type hashicorpFSM struct {
	node int
	cfg  groupConfig
}

// Apply gets only command entries: hashicorp/raft keeps no-ops and
// configuration changes to itself.
func (f *hashicorpFSM) Apply(l *raft.Log) any {
	f.cfg.apply(f.node, l.Data)
	return nil
}

func (f *hashicorpFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &replicaSnapshot{state: f.cfg.replicas[f.node].snapshot()}, nil
}

func (f *hashicorpFSM) Restore(rc io.ReadCloser) error {
	snap, err := io.ReadAll(io.LimitReader(rc, snapshotLen+1))
	if err = errors.Join(err, rc.Close()); err != nil {
		return err
	}
	return f.cfg.replicas[f.node].restore(snap)
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
