package transport_test

// A small raftport group for the security tests: real nodes on whatever
// connections the test gives them, observed only through the public API,
// so the tests show what a deployment would see.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// groupWait bounds every wait on the group; a working group is far inside it.
const groupWait = 30 * time.Second

// steadyTiming keeps a leader in place for the length of a test on a loaded
// machine: heartbeats every 50ms against an election timeout of 1.5-3s.
func steadyTiming() raftport.Timing {
	return raftport.Timing{
		MinElectionTimeout: 1500 * time.Millisecond,
		MaxElectionTimeout: 3 * time.Second,
		MinCampaignTimeout: 10 * time.Millisecond,
		MaxCampaignTimeout: 60 * time.Millisecond,
		HeartbeatInterval:  50 * time.Millisecond,
		LostQuorumInterval: 3 * time.Second,
		LostQuorumCheck:    500 * time.Millisecond,
	}
}

type member struct {
	host *raftport.Server
	node raftport.RaftNode

	mu      sync.Mutex
	applied []string // data of the normal entries applied, in order
}

func (m *member) appliedData() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.applied)
}

// apply drains the node's apply queue until it stops.
func (m *member) apply(done *sync.WaitGroup) {
	defer done.Done()
	q := m.node.ApplyQ()
	for {
		select {
		case <-m.node.QuitC():
			return
		case <-q.Ch():
			ces := q.Pop()
			for _, ce := range ces {
				if ce == nil {
					continue
				}
				m.mu.Lock()
				for _, e := range ce.Entries {
					if e.Type == raftport.EntryNormal {
						m.applied = append(m.applied, string(e.Data))
					}
				}
				m.mu.Unlock()
				m.node.Applied(ce.Index)
			}
			q.Recycle(&ces)
		}
	}
}

type group struct {
	t       *testing.T
	members []*member
}

// startGroup runs one member of group on each connection, each on a host
// of its own; the test's cleanup stops them and then closes the conns.
// configure, if given, adjusts each host's configuration.
func startGroup(t *testing.T, name string, conns []transport.Conn, configure ...func(*raftport.ServerConfig)) *group {
	t.Helper()
	g := &group{t: t}
	var peers []string
	for i := range conns {
		peers = append(peers, raftport.NodeID(hostName(i)))
	}
	var loops sync.WaitGroup
	t.Cleanup(func() {
		for _, m := range g.members {
			m.host.Shutdown()
		}
		for _, m := range g.members {
			m.node.WaitForStop()
		}
		loops.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	for i, conn := range conns {
		cfg := raftport.ServerConfig{
			Name:    hostName(i),
			Connect: func(string) (transport.Conn, error) { return conn, nil },
			Timing:  steadyTiming(),
		}
		for _, f := range configure {
			f(&cfg)
		}
		host, err := raftport.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rc := &raftport.RaftConfig{Name: name, Store: t.TempDir(), Log: storage.NewMemWAL()}
		if err := host.BootstrapRaftNode(rc, peers, true); err != nil {
			t.Fatal(err)
		}
		node, err := host.StartRaftNode("$G", rc)
		if err != nil {
			t.Fatal(err)
		}
		m := &member{host: host, node: node}
		g.members = append(g.members, m)
		loops.Add(1)
		go m.apply(&loops)
	}
	// Elect now rather than after a whole election timeout; which member
	// wins does not matter.
	if err := g.members[0].node.Campaign(); err != nil {
		t.Fatal(err)
	}
	return g
}

func hostName(i int) string { return fmt.Sprintf("sec-%d", i+1) }

// waitFor polls cond until it returns nil.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(groupWait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, groupWait, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leader waits until one member leads and every member follows it.
func (g *group) leader() *member {
	g.t.Helper()
	var leader *member
	waitFor(g.t, "a leader every member follows", func() error {
		leader = nil
		for _, m := range g.members {
			if m.node.Leader() {
				leader = m
			}
		}
		if leader == nil {
			return errors.New("no leader")
		}
		for _, m := range g.members {
			if m.node.GroupLeader() != leader.node.ID() {
				return fmt.Errorf("%s follows %q, not %q", m.host.Name(), m.node.GroupLeader(), leader.node.ID())
			}
		}
		return nil
	})
	return leader
}

// commit proposes data on the leader and waits until every member applied
// it, proposing again if a leader change lost it.
func (g *group) commit(data string) {
	g.t.Helper()
	proposed := time.Time{}
	waitFor(g.t, "entry "+data+" applied everywhere", func() error {
		for _, m := range g.members {
			if !slices.Contains(m.appliedData(), data) {
				if time.Since(proposed) > time.Second {
					if err := g.leader().node.Propose([]byte(data)); err != nil {
						return err
					}
					proposed = time.Now()
				}
				return fmt.Errorf("%s has not applied it", m.host.Name())
			}
		}
		return nil
	})
}

// view is what the tests compare before and after an attack.
type view struct {
	leader  string
	terms   []uint64
	logs    []uint64 // last index of each member's log
	commits []uint64
	applied [][]string
}

func (g *group) view() view {
	var v view
	for _, m := range g.members {
		index, commit, _ := m.node.Progress()
		v.terms = append(v.terms, m.node.Term())
		v.logs = append(v.logs, index)
		v.commits = append(v.commits, commit)
		v.applied = append(v.applied, m.appliedData())
		if m.node.Leader() {
			v.leader = m.node.ID()
		}
	}
	return v
}

func (v view) String() string {
	return fmt.Sprintf("leader %q terms %v logs %v commits %v applied %v", v.leader, v.terms, v.logs, v.commits, v.applied)
}

func (v view) equal(o view) bool { return v.String() == o.String() }
