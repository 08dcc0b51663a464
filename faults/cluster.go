package faults

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// groupName is the Raft group every run replicates.
const groupName = "kv"

// member is one node identity of a run: a host name, its node ID and its
// storage. A member may be running, down (crashed or without power, its
// storage kept) or out of the group (removed, its storage wiped).
type member struct {
	name string
	id   string
	base string
	gen  int // storage generation: bumped when the storage is wiped

	cfs    *storage.CrashFS // the WAL's file system, whose power can be cut
	inGrp  bool             // a member of the group, as far as the suite made it
	up     bool
	paused func() // resume, while paused
	left   time.Time

	conn *tapConn
	host *raftport.Server
	node *kv.Node
	svc  *kv.Service

	pastStats raftport.NodeStats // Stats of this member's earlier nodes
}

func (m *member) dir() string { return filepath.Join(m.base, fmt.Sprintf("gen-%d", m.gen)) }

// cluster is the group under test and everything around it.
type cluster struct {
	cfg    Config
	net    *transport.Network
	wire   *wireLog
	timing raftport.Timing
	logf   func(format string, args ...any)

	mu      sync.Mutex
	members []*member
	failed  []error // nodes that could not be restarted
	clients []transport.Conn
}

func newCluster(cfg Config, base string, logf func(string, ...any)) (*cluster, error) {
	c := &cluster{
		cfg:    cfg,
		net:    transport.NewNetwork(transport.NetworkOptions{Seed: cfg.Seed, NoEcho: true}),
		wire:   newWireLog(),
		timing: suiteTiming(),
		logf:   logf,
	}
	for i := range cfg.Nodes + spareIdentities {
		name := fmt.Sprintf("F-%d", i+1)
		m := &member{name: name, id: raftport.NodeID(name), base: filepath.Join(base, name), inGrp: i < cfg.Nodes}
		c.members = append(c.members, m)
	}
	peers := c.groupIDsLocked()
	for _, m := range c.members[:cfg.Nodes] {
		if err := c.start(m, peers); err != nil {
			c.shutdown()
			return nil, err
		}
	}
	return c, nil
}

// spareIdentities are the extra node identities membership changes bring
// in, so that a removed node's identity can rest before it comes back.
const spareIdentities = 2

// suiteTiming is raftport's timing at a sixteenth, as the ported tests
// run it: elections in a few hundred milliseconds, yet stable under -race
// on two loaded cores. A removed peer may come back after a second.
func suiteTiming() raftport.Timing {
	t := kv.Timing(250 * time.Millisecond)
	t.HeartbeatInterval = 25 * time.Millisecond
	t.PeerRemoveTimeout = time.Second
	return t
}

// ids lists every identity's node ID: what clients are told to try.
func (c *cluster) ids() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.id)
	}
	return out
}

func (c *cluster) groupIDsLocked() []string {
	var out []string
	for _, m := range c.members {
		if m.inGrp {
			out = append(out, m.id)
		}
	}
	return out
}

// start runs m on its storage; its first start bootstraps it with peers.
func (c *cluster) start(m *member, peers []string) error {
	dir := m.dir()
	walRoot := filepath.Join(dir, "walfs")
	if err := os.MkdirAll(walRoot, 0o755); err != nil {
		return err
	}
	if m.cfs == nil {
		m.cfs = storage.NewCrashFS(walRoot)
	}
	raw, err := c.net.Dial(m.id)
	if err != nil {
		return err
	}
	conn := newTapConn(raw, m.id, c.wire)
	host, err := raftport.NewServer(raftport.ServerConfig{
		Name: m.name, Connect: func(string) (transport.Conn, error) { return conn, nil }, Timing: c.timing,
		Logger: c.cfg.Logger, Debug: c.cfg.Logger != nil,
	})
	if err != nil {
		raw.Close()
		return err
	}
	wal, err := storage.OpenFileWAL(filepath.Join(walRoot, "wal"), storage.WALOptions{FS: m.cfs, Sync: c.cfg.syncPolicy()})
	if err != nil {
		host.Shutdown()
		raw.Close()
		return fmt.Errorf("%s: opening its log: %w", m.name, err)
	}
	// The raftport store directory stays outside the CrashFS root: raftport
	// writes tav.idx, peers.idx and snapshots through the real file system
	// (fsynced before it goes on), so they are durable as written, and
	// CrashFS must not revert files it did not see written.
	node, err := kv.Start(kv.Config{
		Host: host, Group: groupName, Peers: peers, Dir: filepath.Join(dir, "raft"),
		Log: wal, SnapshotEvery: c.cfg.SnapshotEvery, Logger: c.cfg.Logger,
	})
	if err != nil {
		wal.Close()
		host.Shutdown()
		raw.Close()
		return fmt.Errorf("%s: %w", m.name, err)
	}
	svc, err := kv.Serve(node, conn, groupName, c.cfg.CommandTimeout)
	if err != nil {
		node.Stop()
		host.Shutdown()
		raw.Close()
		return err
	}
	m.pastStats = addNodeStats(m.pastStats, nodeStats(m.node))
	m.conn, m.host, m.node, m.svc, m.up = conn, host, node, svc, true
	return nil
}

// halt ends a running member as a killed process ends: its connection dies
// first, so nothing it still does reaches anyone, then it is stopped.
func (c *cluster) halt(m *member) {
	if !m.up {
		return
	}
	if m.paused != nil {
		m.paused()
		m.paused = nil
	}
	m.conn.kill()
	m.node.Stop()
	m.svc.Close()
	m.host.Shutdown()
	m.conn.Conn.Close()
	m.up = false
}

// crash kills m; its storage keeps every byte written.
func (c *cluster) crash(m *member) { c.halt(m) }

// powerLoss cuts the power of every given member at one instant: unsynced
// bytes of their logs are lost.
func (c *cluster) powerLoss(ms ...*member) error {
	var fss []*storage.CrashFS
	for _, m := range ms {
		if m.paused != nil {
			m.paused()
			m.paused = nil
		}
		m.conn.kill()
		fss = append(fss, m.cfs)
	}
	err := storage.CrashTogether(fss...)
	for _, m := range ms {
		c.halt(m)
	}
	return err
}

// restart brings a down member back on its storage.
func (c *cluster) restart(m *member) {
	if m.up || !m.inGrp {
		return
	}
	m.cfs.Restart()
	if err := c.start(m, nil); err != nil {
		c.failed = append(c.failed, fmt.Errorf("restarting %s: %w", m.name, err))
		c.logf("restarting %s failed: %v", m.name, err)
	}
}

// wipe drops a stopped member's storage: it comes back, if ever, as a new
// node with an empty log.
func (c *cluster) wipe(m *member) {
	m.gen++
	m.cfs = nil
}

func (c *cluster) leader() *member {
	for _, m := range c.members {
		if m.up && m.paused == nil && m.node.Leader() {
			return m
		}
	}
	return nil
}

// running lists the members in the group that are up and not paused.
func (c *cluster) running() []*member {
	var out []*member
	for _, m := range c.members {
		if m.inGrp && m.up && m.paused == nil {
			out = append(out, m)
		}
	}
	return out
}

// impaired counts the group's members that are down or paused.
func (c *cluster) impaired() int {
	n := 0
	for _, m := range c.members {
		if m.inGrp && (!m.up || m.paused != nil) {
			n++
		}
	}
	return n
}

func (c *cluster) groupSize() int { return len(c.groupIDsLocked()) }

// client connects a new client session to the group.
func (c *cluster) client(i int) (*kv.Client, error) {
	conn, err := c.net.Dial(fmt.Sprintf("client-%d", i))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.clients = append(c.clients, conn)
	c.mu.Unlock()
	return kv.NewClient(conn, groupName, c.ids(), kv.WithAttemptTimeout(c.cfg.AttemptTimeout)), nil
}

// heal ends every fault: no partition, no fault rule, nobody paused, every
// member of the group running.
func (c *cluster) heal() {
	c.net.SetPartition()
	c.net.ClearRules()
	for _, m := range c.members {
		if m.paused != nil {
			m.paused()
			m.paused = nil
		}
	}
	for _, m := range c.members {
		c.restart(m)
	}
}

// finalMembers reads the group's membership from its leader.
func (c *cluster) finalMembers(l *member) []*member {
	var ids []string
	for _, p := range l.node.Raft().Peers() {
		ids = append(ids, p.ID)
	}
	var out []*member
	for _, m := range c.members {
		if slices.Contains(ids, m.id) {
			out = append(out, m)
		}
	}
	return out
}

// settle makes members the group: any other running node was removed,
// and is stopped.
func (c *cluster) settle(members []*member) {
	for _, m := range c.members {
		m.inGrp = slices.Contains(members, m)
		if !m.inGrp && m.up {
			c.halt(m)
		}
	}
}

func (c *cluster) shutdown() {
	for _, m := range c.members {
		c.halt(m)
	}
	c.mu.Lock()
	clients := c.clients
	c.clients = nil
	c.mu.Unlock()
	for _, conn := range clients {
		conn.Close()
	}
	c.net.Close()
}

var errNoLeader = errors.New("faults: no leader")
