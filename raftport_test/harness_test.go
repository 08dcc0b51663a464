package raftport_test

// The shared harness of the ported reference tests: the reference's
// require_* helpers, a cluster of raftport hosts on one in-process network
// (what createJetStreamClusterExplicit gives the reference), Raft groups
// driven by the stateAdder state machine, and a single node that is
// initialised but not running, for tests that step the protocol by hand.

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// TestMain fails the run if any goroutine outlives the tests.
func TestMain(m *testing.M) {
	removeRAMDisk := useRAMDisk()
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	removeRAMDisk()
	os.Exit(code)
}

// ramDisk is where the tests' node directories go when the machine has it.
const ramDisk = "/dev/shm"

// useRAMDisk points the tests' temporary directories at a RAM disk when
// there is one and RAFTPORT_TEST_DISK is not set, and returns how to remove
// what it made. These tests check the protocol at election timeouts of a
// few hundred milliseconds, and on a disk shared with other jobs an fsync of
// tav.idx or of the log can stall for a second: long enough to cost a
// leader its term and a test its scenario. The file WAL's durability is
// tested on the real disk in raftport/storage; RAFTPORT_TEST_DISK=1 runs
// these tests on it too.
func useRAMDisk() (remove func()) {
	remove = func() {}
	if os.Getenv("RAFTPORT_TEST_DISK") != "" {
		return remove
	}
	if fi, err := os.Stat(ramDisk); err != nil || !fi.IsDir() {
		return remove
	}
	dir, err := os.MkdirTemp(ramDisk, "raftport-test-")
	if err != nil {
		return remove
	}
	if err := os.Setenv("TMPDIR", dir); err != nil {
		os.Remove(dir)
		return remove
	}
	return func() { os.RemoveAll(dir) }
}

// globalAccountName is the account the reference binds test groups to; with
// NRGInAssetAccount off their traffic travels in the system account anyway.
const globalAccountName = "$G"

// ---- require helpers, as the reference's test_test.go ----

func require_True(t testing.TB, b bool) {
	t.Helper()
	if !b {
		t.Fatalf("require true, but got false")
	}
}

func require_False(t testing.TB, b bool) {
	t.Helper()
	if b {
		t.Fatalf("require false, but got true")
	}
}

func require_NoError(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("require no error, but got: %v", err)
	}
}

// require_Error checks that err is set and, when expected errors are given,
// that it is one of them: the same error, one it wraps, or one whose
// message contains (or is contained in) err's message. Matching messages
// lets tests outside the package name the node's unexported errors by text.
func require_Error(t testing.TB, err error, expected ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("require error, but got none")
	}
	if len(expected) == 0 {
		return
	}
	got := err.Error()
	for _, e := range expected {
		if errors.Is(err, e) || strings.Contains(got, e.Error()) || strings.Contains(e.Error(), got) {
			return
		}
	}
	t.Fatalf("expected one of %v, got %v", expected, err)
}

func require_Equal[T comparable](t testing.TB, a, b T) {
	t.Helper()
	if a != b {
		t.Fatalf("require %T equal, but got: %v != %v", a, a, b)
	}
}

func require_NotEqual[T comparable](t testing.TB, a, b T) {
	t.Helper()
	if a == b {
		t.Fatalf("require %T not equal, but got: %v == %v", a, a, b)
	}
}

func require_Len(t testing.TB, a, b int) {
	t.Helper()
	if a != b {
		t.Fatalf("require len, but got: %v != %v", a, b)
	}
}

func require_LessThan[T cmp.Ordered](t testing.TB, a, b T) {
	t.Helper()
	if a >= b {
		t.Fatalf("require %v to be less than %v", a, b)
	}
}

func require_NotNil[T any](t testing.TB, vs ...T) {
	t.Helper()
	for _, v := range vs {
		r := reflect.ValueOf(v)
		if !r.IsValid() {
			t.Fatalf("require not nil, but got nil")
		}
		switch r.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func:
			if r.IsNil() {
				t.Fatalf("require not nil, but got nil")
			}
		}
	}
}

func require_Contains(t testing.TB, s string, subStrs ...string) {
	t.Helper()
	for _, sub := range subStrs {
		if !strings.Contains(s, sub) {
			t.Fatalf("require %q to be contained in %q", sub, s)
		}
	}
}

func require_ChanRead[T any](t testing.TB, ch chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("require read from channel within %v but didn't get anything", timeout)
	}
	var zero T
	return zero
}

func require_NoChanRead[T any](t testing.TB, ch chan T, timeout time.Duration) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("require no read from channel within %v but got something", timeout)
	case <-time.After(timeout):
	}
}

// checkFor polls f every interval until it returns nil, and fails the test
// with f's last error once total has passed.
func checkFor(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			break
		}
		time.Sleep(interval)
	}
	t.Fatalf("condition not met within %v: %v", total, err)
}

// ---- the cluster ----

// The node IDs of hosts named nats-0, nats-1, nats-2 and S-2, as literals
// because the reference tests write them so (TestNodeIDMatchesReferenceHash
// pins them to NodeID). The tests use them for members that exist only in
// a node's peer set, or as a fictional leader feeding a single node.
const (
	nats0  = "S1Nunr6R"
	nats1  = "yrzKKRBu"
	nats2  = "cnrtt3eg"
	hostS2 = "z3WIzPtj"
)

// sampleEntries is one normal entry; its content never matters, only that
// it is stored (the reference encodes a stream message).
func sampleEntries() []*raftport.Entry {
	return []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte("foo")}}
}

// fastTiming keeps the reference test timings' proportions (heartbeats
// well inside an election timeout, quorum loss noticed after a few missed
// heartbeats) at a tenth of their length, so elections take tens of
// milliseconds yet do not flap under -race on two cores.
func fastTiming() raftport.Timing {
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

// cluster is a set of raftport hosts on one in-process network. Every host
// uses one connection for all accounts, dialled under its node ID so that
// tests can partition hosts by node ID.
type cluster struct {
	t       *testing.T
	name    string
	timing  raftport.Timing
	net     *transport.Network // the in-process network; nil over NATS
	servers []*raftport.Server
	// dial connects a host or a test client by its ID; closeTransport
	// runs last at shutdown.
	dial           func(id string) (transport.Conn, error)
	closeTransport func()

	// base holds every directory of the cluster. It is made before the
	// shutdown cleanup is registered, so it is removed after the nodes
	// stopped writing into it (cleanups run last-in first-out).
	base string

	mu      sync.Mutex
	conns   []transport.Conn    // host and client connections, closed on shutdown
	sms     []stateMachine      // every state machine started, waited on at shutdown
	nodes   []raftport.RaftNode // nodes without a state machine, waited on at shutdown
	clients int
	down    bool
}

// newCluster sets up an empty cluster over a transport; the caller adds
// the hosts.
func newCluster(t *testing.T, name string, tm raftport.Timing, dial func(string) (transport.Conn, error), closeTransport func()) *cluster {
	t.Helper()
	c := &cluster{t: t, name: name, timing: tm, dial: dial, closeTransport: closeTransport, base: t.TempDir()}
	t.Cleanup(c.shutdown)
	return c
}

// tempDir is a fresh directory that outlives the cluster's nodes; tests
// use it instead of t.TempDir for anything a node writes into.
func (c *cluster) tempDir() string {
	c.t.Helper()
	dir, err := os.MkdirTemp(c.base, "dir")
	require_NoError(c.t, err)
	return dir
}

// trackNode makes shutdown wait for a node that has no state machine.
func (c *cluster) trackNode(n raftport.RaftNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes = append(c.nodes, n)
}

// createRaftCluster stands in for the reference's
// createJetStreamClusterExplicit: numServers hosts named S-1, S-2, ...
// with fast timings. It shuts itself down when the test ends.
func createRaftCluster(t *testing.T, clusterName string, numServers int) *cluster {
	t.Helper()
	return createRaftClusterWithTiming(t, clusterName, numServers, fastTiming())
}

// createRaftClusterWithTiming is createRaftCluster for tests that change
// the reference's timing globals (minElectionTimeout, hbInterval, ...).
func createRaftClusterWithTiming(t *testing.T, clusterName string, numServers int, tm raftport.Timing) *cluster {
	t.Helper()
	// What a NATS server's Raft nodes publish never reaches internal
	// subscriptions of that server (its send queue's client skips them),
	// so a leader never hears its own append entries: NoEcho.
	network := transport.NewNetwork(transport.NetworkOptions{Seed: rand.Int64(), NoEcho: true})
	c := newCluster(t, clusterName, tm, network.Dial, network.Close)
	c.net = network
	for range numServers {
		c.addInNewServer()
	}
	return c
}

// testLogger discards the nodes' logs unless RAFTPORT_DEBUG is set, in
// which case they go to stderr at debug level for diagnosing a failure.
func testLogger() *slog.Logger {
	if os.Getenv("RAFTPORT_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// serverName is the name of the i-th host, S-1, S-2, ... as in the
// reference clusters; the reference tests' fictional members (nats-0,
// nats-1, ...) must not be hosts of the cluster.
func serverName(i int) string { return fmt.Sprintf("S-%d", i+1) }

// addInNewServer starts one more host on the network.
func (c *cluster) addInNewServer() *raftport.Server {
	c.t.Helper()
	name := serverName(len(c.servers))
	conn, err := c.dial(raftport.NodeID(name))
	require_NoError(c.t, err)
	s, err := raftport.NewServer(raftport.ServerConfig{
		Name:    name,
		Cluster: c.name,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
		Timing:  c.timing,
		Logger:  testLogger(),
		Debug:   os.Getenv("RAFTPORT_DEBUG") != "",
	})
	require_NoError(c.t, err)
	c.mu.Lock()
	c.conns = append(c.conns, conn)
	c.mu.Unlock()
	c.servers = append(c.servers, s)
	return s
}

// client returns a connection for the test itself, as the reference tests
// connect a NATS client to watch or inject $NRG traffic.
func (c *cluster) client() transport.Conn {
	c.t.Helper()
	c.mu.Lock()
	c.clients++
	id := fmt.Sprintf("client-%d", c.clients)
	c.mu.Unlock()
	conn, err := c.dial(id)
	require_NoError(c.t, err)
	c.mu.Lock()
	c.conns = append(c.conns, conn)
	c.mu.Unlock()
	return conn
}

func (c *cluster) randomServer() *raftport.Server {
	return c.servers[rand.IntN(len(c.servers))]
}

func (c *cluster) serverByName(name string) *raftport.Server {
	for _, s := range c.servers {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// shutdown stops every host, waits for every state machine loop to end and
// closes the network. It is safe to call more than once.
func (c *cluster) shutdown() {
	c.mu.Lock()
	if c.down {
		c.mu.Unlock()
		return
	}
	c.down = true
	servers := append([]*raftport.Server(nil), c.servers...)
	sms := append([]stateMachine(nil), c.sms...)
	nodes := append([]raftport.RaftNode(nil), c.nodes...)
	conns := append([]transport.Conn(nil), c.conns...)
	c.mu.Unlock()
	for _, sm := range sms {
		nodes = append(nodes, sm.node())
	}
	if n := releaseHeldLocks(nodes); n > 0 && !c.t.Failed() {
		c.t.Errorf("cluster %s: the test left %d node locks held", c.name, n)
	}
	// The nodes' directories must not be removed while they still write, so
	// shutdown waits for them; bounded, so that a node that cannot stop
	// fails the test instead of hanging the binary until its timeout.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for _, s := range servers {
			s.Shutdown()
		}
		for _, n := range nodes {
			n.WaitForStop()
		}
		for _, sm := range sms {
			sm.waitGroup().Wait()
		}
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		c.t.Errorf("cluster %s: nodes did not stop within 10s of shutdown", c.name)
	}
	for _, conn := range conns {
		conn.Close()
	}
	c.closeTransport()
}

// createWAL opens a fresh log of the given kind.
func (c *cluster) createWAL(st raftport.StorageType) (storage.WAL, string) {
	c.t.Helper()
	if st == raftport.MemoryStorage {
		return storage.NewMemWAL(), ""
	}
	dir := c.tempDir()
	return openFileWAL(c.t, dir), dir
}

// request publishes data to subject and waits for the first answer, as a
// NATS client's Request.
func request(conn transport.Conn, subject string, data []byte, timeout time.Duration) ([]byte, error) {
	inbox := conn.NewInbox()
	ch := make(chan []byte, 1)
	sub, err := conn.Subscribe(inbox, func(_, _ string, msg []byte) {
		select {
		case ch <- msg:
		default:
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := conn.Publish(subject, inbox, data); err != nil {
		return nil, err
	}
	select {
	case msg := <-ch:
		return msg, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("request on %s: no answer within %v", subject, timeout)
	}
}

// message is what chanSubscribe delivers.
type message struct {
	Subject string
	Reply   string
	Data    []byte
}

// chanSubscribe is nats.Conn.ChanSubscribe: every message on subject goes
// to the returned channel (buffered; a full buffer drops, as a slow
// consumer would).
func chanSubscribe(t testing.TB, conn transport.Conn, subject string, size int) (chan *message, transport.Subscription) {
	t.Helper()
	ch := make(chan *message, size)
	sub, err := conn.Subscribe(subject, func(subj, reply string, data []byte) {
		select {
		case ch <- &message{Subject: subj, Reply: reply, Data: data}:
		default:
		}
	})
	require_NoError(t, err)
	return ch, sub
}

// ---- state machines ----

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

// walReopener is a state machine that restarts its node from the same file
// WAL; it learns the WAL's directory once its node is created.
type walReopener interface {
	setWALDir(dir string)
}

type smFactory func(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, node raftport.RaftNode) stateMachine

type smGroup []stateMachine

func (sg smGroup) leader() stateMachine {
	for _, sm := range sg {
		if sm.node().Leader() {
			return sm
		}
	}
	return nil
}

func (sg smGroup) followers() []stateMachine {
	var f []stateMachine
	for _, sm := range sg {
		if !sm.node().Leader() {
			f = append(f, sm)
		}
	}
	return f
}

// waitOnLeader waits up to 10s for a member to lead and returns it, or nil.
func (sg smGroup) waitOnLeader() stateMachine {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := sg.leader(); l != nil {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// waitOnNewLeader waits for the first member other than old to lead and
// returns it; nil on timeout.
func (sg smGroup) waitOnNewLeader(old stateMachine) stateMachine {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := sg.leader(); l != nil && l != old {
			return l
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func (sg smGroup) randomMember() stateMachine {
	return sg[rand.IntN(len(sg))]
}

func (sg smGroup) nonLeader() stateMachine {
	for _, sm := range sg {
		if !sm.node().Leader() {
			return sm
		}
	}
	return nil
}

func (sg smGroup) lockAll() {
	for _, sm := range sg {
		lockNode(sm.node())
	}
}

func (sg smGroup) unlockAll() {
	for _, sm := range sg {
		unlockNode(sm.node())
	}
}

// lockFollowers locks every member that is not leader and returns them;
// unlockNode releases each.
func (sg smGroup) lockFollowers() []stateMachine {
	var locked []stateMachine
	for _, sm := range sg {
		if !sm.node().Leader() {
			lockNode(sm.node())
			locked = append(locked, sm)
		}
	}
	return locked
}

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
	raftport.NewProbe(n).Lock()
	heldLocks.Lock()
	heldLocks.nodes[n] = true
	heldLocks.Unlock()
}

func unlockNode(n raftport.RaftNode) {
	heldLocks.Lock()
	delete(heldLocks.nodes, n)
	heldLocks.Unlock()
	raftport.NewProbe(n).Unlock()
}

// releaseHeldLocks unlocks those of nodes still locked by the test and
// returns how many it released.
func releaseHeldLocks(nodes []raftport.RaftNode) int {
	released := 0
	for _, n := range nodes {
		heldLocks.Lock()
		held := heldLocks.nodes[n]
		delete(heldLocks.nodes, n)
		heldLocks.Unlock()
		if held {
			raftport.NewProbe(n).Unlock()
			released++
		}
	}
	return released
}

// proposeAndWaitStored proposes delta on leader l and waits until l's log
// holds it, for tests that stop followers and must know the entry exists
// on the leader alone.
func proposeAndWaitStored(t testing.TB, l *stateAdder, delta int64) {
	t.Helper()
	pindex, _, _ := l.node().Progress()
	l.proposeDelta(delta)
	checkFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if index, _, _ := l.node().Progress(); index == pindex {
			return errors.New("proposal not stored yet")
		}
		return nil
	})
}

// waitOnTotal waits until every running adder of the group sums to expected.
func (sg smGroup) waitOnTotal(t testing.TB, expected int64) {
	t.Helper()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		var err error
		for _, sm := range sg {
			if sm.node().State() == raftport.Closed {
				continue
			}
			asm := sm.(*stateAdder)
			if total := asm.total(); total != expected {
				err = errors.Join(err, fmt.Errorf("adder on %s has wrong total: %d vs %d",
					asm.server().Name(), total, expected))
			}
		}
		return err
	})
}

func (c *cluster) createRaftGroup(name string, numMembers int, smf smFactory) smGroup {
	return c.createRaftGroupEx(name, numMembers, smf, raftport.FileStorage)
}

func (c *cluster) createMemRaftGroup(name string, numMembers int, smf smFactory) smGroup {
	return c.createRaftGroupEx(name, numMembers, smf, raftport.MemoryStorage)
}

// createRaftGroupEx places a group on numMembers hosts picked at random.
func (c *cluster) createRaftGroupEx(name string, numMembers int, smf smFactory, st raftport.StorageType) smGroup {
	c.t.Helper()
	if numMembers > len(c.servers) {
		c.t.Fatalf("members > peers: %d vs %d", numMembers, len(c.servers))
	}
	servers := append([]*raftport.Server(nil), c.servers...)
	rand.Shuffle(len(servers), func(i, j int) { servers[i], servers[j] = servers[j], servers[i] })
	return c.createRaftGroupWithPeers(name, servers[:numMembers], smf, st)
}

func serverPeerNames(servers []*raftport.Server) []string {
	peers := make([]string, 0, len(servers))
	for _, s := range servers {
		peers = append(peers, s.ID())
	}
	return peers
}

func (c *cluster) createRaftGroupWithPeers(name string, servers []*raftport.Server, smf smFactory, st raftport.StorageType) smGroup {
	c.t.Helper()
	peers := serverPeerNames(servers)
	var sg smGroup
	for _, s := range servers {
		wal, walDir := c.createWAL(st)
		cfg := &raftport.RaftConfig{Name: name, Store: c.tempDir(), Log: wal}
		sg = append(sg, c.createStateMachine(s, cfg, walDir, peers, smf))
	}
	return sg
}

func (c *cluster) createStateMachine(s *raftport.Server, cfg *raftport.RaftConfig, walDir string, peers []string, smf smFactory) stateMachine {
	c.t.Helper()
	require_NoError(c.t, s.BootstrapRaftNode(cfg, peers, true))
	n, err := s.StartRaftNode(globalAccountName, cfg)
	require_NoError(c.t, err)
	sm := smf(c, s, cfg, n)
	if r, ok := sm.(walReopener); ok {
		r.setWALDir(walDir)
	}
	c.startLoop(sm)
	return sm
}

// startLoop runs smLoop for sm and records it so shutdown can wait for it.
func (c *cluster) startLoop(sm stateMachine) {
	c.mu.Lock()
	known := false
	for _, have := range c.sms {
		if have == sm {
			known = true
			break
		}
	}
	if !known {
		c.sms = append(c.sms, sm)
	}
	c.mu.Unlock()
	wg := sm.waitGroup()
	wg.Add(1)
	go smLoop(sm, wg)
}

// addNodeEx starts a new host and a member of group name on it, knowing
// every host of the cluster as a peer.
func (c *cluster) addNodeEx(name string, smf smFactory, st raftport.StorageType) stateMachine {
	c.t.Helper()
	s := c.addInNewServer()
	wal, walDir := c.createWAL(st)
	cfg := &raftport.RaftConfig{Name: name, Store: c.tempDir(), Log: wal}
	return c.createStateMachine(s, cfg, walDir, serverPeerNames(c.servers), smf)
}

func (c *cluster) addRaftNode(name string, smf smFactory) stateMachine {
	return c.addNodeEx(name, smf, raftport.FileStorage)
}

func (c *cluster) addMemRaftNode(name string, smf smFactory) stateMachine {
	return c.addNodeEx(name, smf, raftport.MemoryStorage)
}

// smLoop drives a state machine until its node quits. wg was incremented
// by the caller so that a waiter never misses a loop about to start.
func smLoop(sm stateMachine, wg *sync.WaitGroup) {
	defer wg.Done()
	n := sm.node()
	qch, lch, aq := n.QuitC(), n.LeadChangeC(), n.ApplyQ()
	for {
		select {
		case <-qch:
			return
		case <-aq.Ch():
			ces := aq.Pop()
			for _, ce := range ces {
				sm.applyEntry(ce)
			}
			aq.Recycle(&ces)
		case isLeader := <-lch:
			sm.leaderChange(isLeader)
		}
	}
}

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

func (m *smMember) stop() {
	n := m.node()
	n.Stop()
	n.WaitForStop()
	m.wg.Wait()
}

// restartAs starts a stopped node again from its WAL and runs sm's loop for
// it. A real restart loses in-memory state, so reset clears sm's own state
// (under the member lock) before the replay rebuilds it.
func (m *smMember) restartAs(sm stateMachine, reset func()) {
	m.Lock()
	defer m.Unlock()
	if m.n.State() != raftport.Closed {
		return
	}
	if m.walDir != "" {
		m.cfg.Log = openFileWAL(m.c.t, m.walDir)
	} else {
		m.cfg.Log = storage.NewMemWAL()
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

// stateAdder is the reference's replicated state: it sums int64 deltas.
type stateAdder struct {
	smMember
	sum int64
	lch chan bool
}

func newStateAdder(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) stateMachine {
	return &stateAdder{smMember: smMember{c: c, s: s, n: n, cfg: cfg}, lch: make(chan bool, 1)}
}

func (a *stateAdder) applyEntry(ce *raftport.CommittedEntry) {
	a.Lock()
	if ce == nil {
		// The end of a replay or a catchup.
		a.Unlock()
		return
	}
	for _, e := range ce.Entries {
		switch e.Type {
		case raftport.EntryNormal:
			delta, _ := binary.Varint(e.Data)
			a.sum += delta
		case raftport.EntrySnapshot:
			a.sum, _ = binary.Varint(e.Data)
		}
	}
	n := a.n
	a.Unlock()
	// Outside the adder lock, as the node may be locked by the test.
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

func (a *stateAdder) proposeDelta(delta int64) {
	a.propose(binary.AppendVarint(nil, delta))
}

// restart starts a stopped member again on the same host: a file WAL is
// reopened from its directory, a memory WAL starts empty (its content died
// with the node), as in the reference.
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

// ---- a single node that is not running ----

// initSingleMemRaftNode creates a one-member group with a memory WAL on the
// first host of a 3-host cluster and initialises its node without starting
// the run loop, so that the test drives it through the returned Probe.
func initSingleMemRaftNode(t *testing.T) (raftport.RaftNode, *raftport.Probe, func()) {
	t.Helper()
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	return n, p, c.shutdown
}

func initSingleMemRaftNodeWithCluster(t *testing.T) (raftport.RaftNode, *raftport.Probe, *cluster) {
	t.Helper()
	c := createRaftCluster(t, "R3S", 3)
	s := c.servers[0]
	cfg := &raftport.RaftConfig{Name: "TEST", Store: c.tempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	c.trackNode(n)
	return n, p, c
}

// openFileWAL opens (or reopens, after a stop) the file WAL in dir with the
// safe default sync policy.
func openFileWAL(t testing.TB, dir string) storage.WAL {
	t.Helper()
	w, err := storage.OpenFileWAL(dir, storage.WALOptions{})
	require_NoError(t, err)
	return w
}

// encode is the reference's encode helper: the append entry as it is
// stored in the WAL and sent on the wire.
func encode(t testing.TB, spec raftport.AppendEntrySpec) *raftport.AppendEntryMsg {
	t.Helper()
	msg, err := raftport.EncodeAppendEntry(spec)
	require_NoError(t, err)
	return msg
}
