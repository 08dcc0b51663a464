package raftport_test

// Raft groups running on a cluster: where their members go, the state
// machines that drive them (the reference's stateAdder among them), and
// the group-level steps and waits the tests are written in.

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// stateMachine is what a group member runs above its node.
type stateMachine interface {
	server() *raftport.Server
	node() raftport.RaftNode
	waitGroup() *sync.WaitGroup
	// propose forwards as needed, so it can be called on any member.
	propose(data []byte)
	applyEntry(ce *raftport.CommittedEntry)
	leaderChange(isLeader bool)
	stop()
	restart()
}

// member is what a group is made of: a state machine that tests can
// tell apart from the others.
type member interface {
	stateMachine
	comparable
}

// machineFactory makes the state machine of a member whose node just
// started.
type machineFactory[M member] func(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, node raftport.RaftNode) M

// ---- where a group runs ----

// groupSpec lays out a test's group. The zero value is the reference's
// usual one: the three hosts of cluster R3S at the fast timing, all of them
// members of group TEST, each with a file WAL.
type groupSpec struct {
	hosts   int             // hosts of the cluster; 3 when zero
	members int             // members, on hosts picked at random; every host when zero
	memory  bool            // memory WALs instead of file WALs
	timing  raftport.Timing // fastTiming when zero
}

func (g groupSpec) storage() storageKind {
	if g.memory {
		return memoryStorage
	}
	return fileStorage
}

// startGroup makes the cluster g describes and runs group TEST on it,
// each member driven by a state machine from newSM.
func startGroup[M member](t *testing.T, g groupSpec, newSM machineFactory[M]) (*cluster, group[M]) {
	t.Helper()
	hosts := cmp.Or(g.hosts, 3)
	c := createRaftClusterWithTiming(t, fmt.Sprintf("R%dS", hosts), hosts, cmp.Or(g.timing, fastTiming()))
	return c, placeGroup(c, "TEST", cmp.Or(g.members, hosts), g.storage(), newSM)
}

// startAdders is startGroup with the reference's adder state machine.
func startAdders(t *testing.T, g groupSpec) (*cluster, group[*stateAdder]) {
	t.Helper()
	return startGroup(t, g, newStateAdder)
}

// electedAdders is startAdders once the group has a leader, which it
// returns too.
func electedAdders(t *testing.T, g groupSpec) (*cluster, group[*stateAdder], *stateAdder) {
	t.Helper()
	c, rg := startAdders(t, g)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	return c, rg, leader
}

// campaignAndWaitOnLeader starts the first election at once instead of
// after a whole election timeout, and waits for its winner.
func campaignAndWaitOnLeader[M member](t *testing.T, g group[M]) M {
	t.Helper()
	require_NoError(t, g[0].node().Campaign())
	leader := g.waitOnLeader()
	require_NotNil(t, leader)
	return leader
}

// placeGroup runs group name with size members on hosts of c picked at
// random.
func placeGroup[M member](c *cluster, name string, size int, st storageKind, newSM machineFactory[M]) group[M] {
	c.t.Helper()
	return groupOn(c, name, c.randomHosts(size), st, newSM)
}

// randomHosts picks n distinct hosts at random.
func (c *cluster) randomHosts(n int) []*raftport.Server {
	c.t.Helper()
	if n > len(c.servers) {
		c.t.Fatalf("cannot pick %d hosts out of %d", n, len(c.servers))
	}
	picked := make([]*raftport.Server, n)
	for i, j := range rand.Perm(len(c.servers))[:n] {
		picked[i] = c.servers[j]
	}
	return picked
}

// groupOn runs group name with one member on each of hosts.
func groupOn[M member](c *cluster, name string, hosts []*raftport.Server, st storageKind, newSM machineFactory[M]) group[M] {
	c.t.Helper()
	peers := serverPeerNames(hosts)
	members := make(group[M], 0, len(hosts))
	for _, s := range hosts {
		members = append(members, startMember(c, s, name, peers, st, newSM))
	}
	return members
}

// joinGroup starts a new host and on it a new member of group name that
// knows every host of the cluster as a peer.
func joinGroup[M member](c *cluster, name string, st storageKind, newSM machineFactory[M]) M {
	c.t.Helper()
	s := c.addInNewServer()
	return startMember(c, s, name, serverPeerNames(c.servers), st, newSM)
}

func serverPeerNames(servers []*raftport.Server) []string {
	ids := make([]string, len(servers))
	for i, s := range servers {
		ids[i] = s.ID()
	}
	return ids
}

// startMember bootstraps and starts a member of group name on s, and runs
// its state machine.
func startMember[M member](c *cluster, s *raftport.Server, name string, peers []string, st storageKind, newSM machineFactory[M]) M {
	c.t.Helper()
	wal, walDir := c.newLog(st)
	cfg := &raftport.RaftConfig{Name: name, Store: c.tempDir(), Log: wal}
	require_NoError(c.t, s.BootstrapRaftNode(cfg, peers, true))
	n, err := s.StartRaftNode(globalAccountName, cfg)
	require_NoError(c.t, err)
	sm := newSM(c, s, cfg, n)
	if r, ok := any(sm).(interface{ setWALDir(string) }); ok {
		r.setWALDir(walDir)
	}
	c.startLoop(sm)
	return sm
}

// startLoop drives sm in a goroutine of its own and records it so that
// shutdown waits for it.
func (c *cluster) startLoop(sm stateMachine) {
	c.remember(func() {
		if !slices.Contains(c.sms, sm) {
			c.sms = append(c.sms, sm)
		}
	})
	wg := sm.waitGroup()
	wg.Add(1)
	go drive(sm, wg.Done)
}

// drive hands a state machine its node's committed entries and lead
// changes until the node quits; done was armed by the caller, so that a
// waiter never misses a loop about to start.
func drive(sm stateMachine, done func()) {
	defer done()
	n := sm.node()
	quit, leads, applies := n.QuitC(), n.LeadChangeC(), n.ApplyQ()
	for {
		select {
		case <-quit:
			return
		case isLeader := <-leads:
			sm.leaderChange(isLeader)
		case <-applies.Ch():
			applyBatch(sm, applies)
		}
	}
}

func applyBatch(sm stateMachine, q *raftport.IPQueue[*raftport.CommittedEntry]) {
	batch := q.Pop()
	for _, ce := range batch {
		sm.applyEntry(ce)
	}
	q.Recycle(&batch)
}

// ---- a running group ----

// group is the members of one Raft group, in placement order.
type group[M member] []M

func leading[M member](sm M) bool   { return sm.node().Leader() }
func following[M member](sm M) bool { return !sm.node().Leader() }

// first is the first member for which keep holds, or the zero M.
func (g group[M]) first(keep func(M) bool) M {
	var none M
	if i := slices.IndexFunc(g, keep); i >= 0 {
		return g[i]
	}
	return none
}

// where is the members for which keep holds.
func (g group[M]) where(keep func(M) bool) group[M] {
	return slices.DeleteFunc(slices.Clone(g), func(sm M) bool { return !keep(sm) })
}

// except is the members other than those given.
func (g group[M]) except(others ...M) group[M] {
	return g.where(func(sm M) bool { return !slices.Contains(others, sm) })
}

func (g group[M]) leader() M           { return g.first(leading[M]) }
func (g group[M]) nonLeader() M        { return g.first(following[M]) }
func (g group[M]) followers() group[M] { return g.where(following[M]) }
func (g group[M]) randomMember() M     { return g[rand.IntN(len(g))] }
func (g group[M]) waitOnLeader() M     { return poll(settleWait, g.leader) }
func (g group[M]) nodes() []raftport.RaftNode {
	nodes := make([]raftport.RaftNode, len(g))
	for i, sm := range g {
		nodes[i] = sm.node()
	}
	return nodes
}

// stopAll stops every member.
func (g group[M]) stopAll() {
	for _, sm := range g {
		sm.stop()
	}
}

// waitOnNewLeader waits for a member other than old to lead and returns
// it, or the zero M once settleWait has passed.
func (g group[M]) waitOnNewLeader(old M) M {
	return poll(settleWait, func() M {
		return g.first(func(sm M) bool { return sm != old && leading(sm) })
	})
}

// randomMemberExcept picks a random member other than those given.
func (g group[M]) randomMemberExcept(others ...M) M {
	return g.except(others...).randomMember()
}

func each[T any](items []T, step func(T)) {
	for _, it := range items {
		step(it)
	}
}

// everyMember is a wait step that holds once check passes for every
// member, and names the members it fails for.
func (g group[M]) everyMember(check func(sm M) error) func() error {
	return func() error {
		var errs []error
		for _, sm := range g {
			if err := check(sm); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", sm.server().Name(), err))
			}
		}
		return errors.Join(errs...)
	}
}

// everyNode is everyMember over the members' nodes.
func (g group[M]) everyNode(check func(raftport.RaftNode) error) func() error {
	return g.everyMember(func(sm M) error { return check(sm.node()) })
}

// lockAll takes every member's node lock; unlockAll releases them.
func (g group[M]) lockAll()   { each(g.nodes(), lockNode) }
func (g group[M]) unlockAll() { each(g.nodes(), unlockNode) }

// locked takes every member's node lock and returns an idempotent
// unlock, so that a failing test still releases them for the cluster
// shutdown.
func (g group[M]) locked() (unlock func()) {
	g.lockAll()
	var once sync.Once
	return func() { once.Do(g.unlockAll) }
}

// lockFollowers locks every member that is not leader and returns them
// with their unlock.
func (g group[M]) lockFollowers() (group[M], func()) {
	followers := g.followers()
	return followers, followers.locked()
}

// lockMember locks one member's node, with an idempotent unlock.
func lockMember(sm stateMachine) (unlock func()) { return group[stateMachine]{sm}.locked() }

// ---- node locks held by a test ----

// heldLocks are the node locks a test holds through lockNode. A test whose
// assertion fails while it holds one exits with the lock held; the cluster
// shutdown then releases it, as the stopping run loop would otherwise wait
// on it forever and hang the whole test binary.
var heldLocks = struct {
	sync.Mutex
	nodes map[raftport.RaftNode]bool
}{nodes: map[raftport.RaftNode]bool{}}

// lockNode takes a node's lock for the test, as the reference tests take
// n.Lock() to inspect or stage a node's state.
func lockNode(n raftport.RaftNode) {
	probeOf(n).Lock()
	heldLocks.Lock()
	heldLocks.nodes[n] = true
	heldLocks.Unlock()
}

func unlockNode(n raftport.RaftNode) {
	heldLocks.Lock()
	delete(heldLocks.nodes, n)
	heldLocks.Unlock()
	probeOf(n).Unlock()
}

// releaseHeldLocks unlocks those of nodes still locked by the test and
// returns how many it released.
func releaseHeldLocks(nodes []raftport.RaftNode) int {
	heldLocks.Lock()
	var held []raftport.RaftNode
	for _, n := range nodes {
		if heldLocks.nodes[n] {
			held = append(held, n)
			delete(heldLocks.nodes, n)
		}
	}
	heldLocks.Unlock()
	for _, n := range held {
		probeOf(n).Unlock()
	}
	return len(held)
}

// ---- the member side shared by every state machine ----

// smMember is what every test state machine holds about its place in the
// cluster: its server, its node and how to restart that node. The state
// machines embed it and add only their own state.
type smMember struct {
	sync.Mutex
	c      *cluster
	s      *raftport.Server
	n      raftport.RaftNode
	wg     sync.WaitGroup
	cfg    *raftport.RaftConfig
	walDir string // file WAL directory, empty for a memory WAL
}

func (m *smMember) server() *raftport.Server {
	m.Lock()
	defer m.Unlock()
	return m.s
}

func (m *smMember) node() raftport.RaftNode {
	m.Lock()
	defer m.Unlock()
	return m.n
}

func (m *smMember) waitGroup() *sync.WaitGroup { return &m.wg }

func (m *smMember) setWALDir(dir string) {
	m.Lock()
	defer m.Unlock()
	m.walDir = dir
}

// propose does not hold the member lock: the test may hold the node lock.
func (m *smMember) propose(data []byte) {
	_ = m.node().ForwardProposal(data)
}

// stop stops the node and waits for the state machine's loop to end.
func (m *smMember) stop() {
	halt(m.node())
	m.wg.Wait()
}

// restartAs starts a stopped node again from its WAL and runs sm's loop for
// it. A real restart loses in-memory state, so reset clears sm's own state
// (under the member lock) before the replay rebuilds it. A file WAL is
// reopened from its directory, a memory WAL starts empty (its content died
// with the node), as in the reference.
func (m *smMember) restartAs(sm stateMachine, reset func()) {
	m.Lock()
	defer m.Unlock()
	if m.n.State() != raftport.Closed {
		return
	}
	m.cfg.Log = storage.NewMemWAL()
	if m.walDir != "" {
		m.cfg.Log = openFileWAL(m.c.t, m.walDir)
	}
	reset()
	n, err := m.s.StartRaftNode(globalAccountName, m.cfg)
	if err != nil {
		m.c.t.Errorf("restarting %s: %v", m.s.Name(), err)
		return
	}
	m.n = n
	m.c.startLoop(sm)
}

// ---- the adder ----

// stateAdder is the reference's replicated state: it sums int64 deltas.
type stateAdder struct {
	smMember
	sum int64
	lch chan bool
}

func newStateAdder(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) *stateAdder {
	return &stateAdder{smMember: smMember{c: c, s: s, n: n, cfg: cfg}, lch: make(chan bool, 1)}
}

// addTo is the sum after one entry: a delta adds, a snapshot replaces.
func addTo(sum int64, e *raftport.Entry) int64 {
	v, _ := binary.Varint(e.Data)
	switch e.Type {
	case raftport.EntryNormal:
		return sum + v
	case raftport.EntrySnapshot:
		return v
	}
	return sum
}

// applyEntry ignores the nil entry that ends a replay or a catchup, and
// reports the index applied outside the adder lock, as the test may hold
// the node's.
func (a *stateAdder) applyEntry(ce *raftport.CommittedEntry) {
	if ce == nil {
		return
	}
	a.Lock()
	for _, e := range ce.Entries {
		a.sum = addTo(a.sum, e)
	}
	n := a.n
	a.Unlock()
	n.Applied(ce.Index)
}

// leaderChange keeps only the latest unread state, as the node's own
// lead-change channel does. The reference adder keeps the first one, which
// reads "not leader" on a leader whose first signal came from following an
// earlier, short-lived leader (a split first election on a loaded machine).
func (a *stateAdder) leaderChange(isLeader bool) {
	for {
		select {
		case a.lch <- isLeader:
			return
		default:
		}
		select {
		case <-a.lch:
		default:
		}
	}
}

// forgetLeadChanges drops an unread lead-change signal, so that the next
// one read is news.
func (a *stateAdder) forgetLeadChanges() {
	select {
	case <-a.lch:
	default:
	}
}

// waitNotLeader waits until the adder is told it no longer leads.
func (a *stateAdder) waitNotLeader(t testing.TB) {
	t.Helper()
	eventually(t, func() error {
		if require_ChanRead(t, a.lch, settleWait) {
			return errors.New("still leader")
		}
		return nil
	})
}

func (a *stateAdder) proposeDelta(delta int64) {
	a.propose(binary.AppendVarint(nil, delta))
}

// proposeDeltas proposes each delta in turn.
func (a *stateAdder) proposeDeltas(deltas ...int64) { each(deltas, a.proposeDelta) }

// restart rebuilds the sum from the replay: the adder cannot tell which
// entries it already applied.
func (a *stateAdder) restart() { a.restartAs(a, func() { a.sum = 0 }) }

func (a *stateAdder) total() int64 {
	a.Lock()
	defer a.Unlock()
	return a.sum
}

// snapshot installs the current sum as the node's snapshot.
func (a *stateAdder) snapshot(t testing.TB) {
	t.Helper()
	a.Lock()
	sum, n := a.sum, a.n
	a.Unlock()
	require_NoError(t, n.InstallSnapshot(binary.AppendVarint(nil, sum), false))
}

// hasTotal is a member check: the adder sums to want.
func hasTotal(want int64) func(*stateAdder) error {
	return func(a *stateAdder) error {
		if got := a.total(); got != want {
			return fmt.Errorf("total %d, want %d", got, want)
		}
		return nil
	}
}

// waitOnTotal waits until every running adder of the group sums to want.
func (g group[M]) waitOnTotal(t testing.TB, want int64) {
	t.Helper()
	eventually(t, func() error {
		running := g.where(func(sm M) bool { return sm.node().State() != raftport.Closed })
		return totalsOf(running).everyMember(hasTotal(want))()
	})
}

// sumsTo is a wait step: every given adder sums to want.
func sumsTo(want int64, adders ...*stateAdder) func() error {
	return group[*stateAdder](adders).everyMember(hasTotal(want))
}

// totalsOf is g as adders, for the adder checks.
func totalsOf[M member](g group[M]) group[*stateAdder] {
	out := make(group[*stateAdder], len(g))
	for i, sm := range g {
		out[i] = any(sm).(*stateAdder)
	}
	return out
}

// proposeAndWaitStored proposes delta on leader l and waits until l's log
// holds it, for tests that stop followers and must know the entry exists
// on the leader alone.
func proposeAndWaitStored(t testing.TB, l *stateAdder, delta int64) {
	t.Helper()
	before, _, _ := l.node().Progress()
	l.proposeDelta(delta)
	within(t, 2*time.Second, holds("the proposal stored", func() bool {
		index, _, _ := l.node().Progress()
		return index != before
	}))
}
