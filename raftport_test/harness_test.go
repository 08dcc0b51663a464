package raftport_test

// The shared harness of the ported reference tests. This file holds the
// machine-level pieces: the leak check, the RAM disk, the assertions, the
// waits, the cluster of raftport hosts on one in-process network (what
// createJetStreamClusterExplicit gives the reference) and the test window
// into a node. groups_test.go runs Raft groups on a cluster; stepped_test.go
// drives a single node by hand.

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
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

// ---- the test window ----
//
// Everything the tests reach inside a node goes through this section: the
// window (internal/raftprobe) is not part of raftport's users' API, and
// how it is reached is this section's business alone.

// The window and the plain values it trades in, on raftport's entry and
// state types.
type (
	probe            = raftprobe.Window[raftport.Entry, raftport.RaftState]
	replicationState = raftprobe.ReplicationState[raftport.RaftState]
	aeSpec           = raftprobe.AppendEntrySpec[raftport.Entry]
	aeMsg            = raftprobe.AppendEntryMsg[raftport.Entry]
	ackSpec          = raftprobe.ResponseSpec
	voteAsk          = raftprobe.VoteRequestSpec
	voteAnswer       = raftprobe.VoteResponseSpec
	nodeFlags        = raftprobe.StartupFlags
	catchupView      = raftprobe.CatchupView
	snapshotView     = raftprobe.SnapshotView
	// feed names the subscription an append entry arrives on; the zero
	// feed is a replay of the node's own log.
	feed = raftprobe.Sub
)

// port is raftport's side of the window, registered by its init.
var port = raftprobe.Get[raftport.Entry, raftport.RaftState]()

// codec is raftport's wire format, to forge messages and read traffic;
// limits are its constants and codec errors.
var (
	codec  = port.Codec()
	limits = port.Limits()
)

// probeOf opens the test window on a node.
func probeOf(n raftport.RaftNode) probe {
	w, ok := port.Open(n)
	if !ok {
		panic(fmt.Sprintf("probeOf: %T is not a raftport node", n))
	}
	return w
}

// initNode creates a node on s without starting its run loop, so that the
// test drives it.
func initNode(s *raftport.Server, cfg *raftport.RaftConfig) (raftport.RaftNode, error) {
	n, err := port.InitNode(s, globalAccountName, cfg)
	if err != nil {
		return nil, err
	}
	return n.(raftport.RaftNode), nil
}

// globalAccountName is the account the reference binds test groups to; with
// NRGInAssetAccount off their traffic travels in the system account anyway.
const globalAccountName = "$G"

// ---- assertions, named as the reference's test_test.go helpers ----

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
	got := err.Error()
	matches := func(e error) bool {
		return errors.Is(err, e) || strings.Contains(got, e.Error()) || strings.Contains(e.Error(), got)
	}
	if len(expected) > 0 && !slices.ContainsFunc(expected, matches) {
		t.Fatalf("expected one of %v, got %v", expected, err)
	}
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

// require_NotNil fails on a nil value of any kind, a typed nil pointer or
// interface included.
func require_NotNil[T any](t testing.TB, vs ...T) {
	t.Helper()
	nilable := []reflect.Kind{reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func}
	for _, v := range vs {
		r := reflect.ValueOf(v)
		if !r.IsValid() || (slices.Contains(nilable, r.Kind()) && r.IsNil()) {
			t.Fatalf("require not nil, but got nil")
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

// ---- waits ----

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

// settleWait is how long the tests wait for a group to reach a state that
// it reaches in milliseconds when it works: generous for -race on a
// loaded machine, never reached otherwise.
const settleWait = 10 * time.Second

// eventually waits up to settleWait for f to return nil.
func eventually(t testing.TB, f func() error) {
	t.Helper()
	checkFor(t, settleWait, 10*time.Millisecond, f)
}

// within waits up to d for f to return nil, for steps the reference
// bounds more tightly than settleWait.
func within(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	checkFor(t, d, 10*time.Millisecond, f)
}

// holds turns a condition into a wait step: nil once cond holds, an error
// naming what is awaited until then.
func holds(what string, cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("waiting for: %s", what)
	}
}

// staysFor checks cond throughout d and fails as soon as it does not
// hold: the reference tests show that something does not happen by
// waiting a while and looking once; polling the whole window is stricter.
func staysFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s no longer holds", what)
		}
		if time.Now().After(end) {
			return
		}
	}
}

// poll returns the first non-zero value f yields within d, or the zero
// value once d has passed.
func poll[T comparable](d time.Duration, f func() T) T {
	var zero T
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if v := f(); v != zero {
			return v
		}
	}
	return zero
}

// eitherWay runs body twice, as subtest off without the variation the
// flag names and as subtest on with it.
func eitherWay(t *testing.T, off, on string, body func(t *testing.T, flag bool)) {
	t.Run(off, func(t *testing.T) { body(t, false) })
	t.Run(on, func(t *testing.T) { body(t, true) })
}

// ---- fixtures of the reference tests ----

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

// fooEntry is one normal entry; its content never matters, only that it
// is stored (the reference encodes a stream message).
func fooEntry() *raftport.Entry {
	return &raftport.Entry{Type: raftport.EntryNormal, Data: []byte("foo")}
}

// sampleEntries is fooEntry as the entries of one append entry.
func sampleEntries() []*raftport.Entry { return []*raftport.Entry{fooEntry()} }

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

// steadyTiming keeps the harness's proportions at four times its pace:
// tests that assert who wins an election cannot afford a spurious one
// when a loaded machine delays a 25ms heartbeat past a 250ms timeout, nor
// a leader transfer that finds no peer heard from within 75ms.
func steadyTiming() raftport.Timing {
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = time.Second, 2*time.Second
	tm.HeartbeatInterval = 100 * time.Millisecond
	tm.LostQuorumInterval, tm.LostQuorumCheck = 2*time.Second, 400*time.Millisecond
	return tm
}

// patientQuorumTiming is the fast harness timing with the reference's
// ten-second quorum checks, for tests that keep a leader short of its
// quorum for a second or so on purpose: in the reference that is a tenth
// of the time after which a leader gives up, and so it must stay here.
func patientQuorumTiming() raftport.Timing {
	tm := fastTiming()
	tm.LostQuorumInterval, tm.LostQuorumCheck = 10*time.Second, 10*time.Second
	return tm
}

// slowElectionTiming is the reference default timing with the election
// timeout and heartbeat the reference tests set when they must not see
// elections or heartbeats of their own while they stage one.
func slowElectionTiming(hb time.Duration) raftport.Timing {
	tm := raftport.DefaultTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 5*time.Second, 10*time.Second
	tm.HeartbeatInterval = hb
	return tm
}

// ---- the cluster ----

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

// remember records what shutdown must close or wait for.
func (c *cluster) remember(record func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	record()
}

// trackNode makes shutdown wait for a node that has no state machine.
func (c *cluster) trackNode(n raftport.RaftNode) {
	c.remember(func() { c.nodes = append(c.nodes, n) })
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
	return c.addHost(name, c.dialHost(name))
}

// addHost starts a host named name on conn, which shutdown closes.
func (c *cluster) addHost(name string, conn transport.Conn) *raftport.Server {
	c.t.Helper()
	return c.addHostWith(name, conn, func(*raftport.ServerConfig) {})
}

// addHostWith is addHost with the host's configuration adjusted first.
func (c *cluster) addHostWith(name string, conn transport.Conn, adjust func(*raftport.ServerConfig)) *raftport.Server {
	c.t.Helper()
	c.remember(func() { c.conns = append(c.conns, conn) })
	cfg := raftport.ServerConfig{
		Name:    name,
		Cluster: c.name,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
		Timing:  c.timing,
		Logger:  testLogger(),
		Debug:   os.Getenv("RAFTPORT_DEBUG") != "",
	}
	adjust(&cfg)
	s, err := raftport.NewServer(cfg)
	require_NoError(c.t, err)
	c.servers = append(c.servers, s)
	return s
}

// dialHost connects the network under the node ID of a host named name.
func (c *cluster) dialHost(name string) transport.Conn {
	c.t.Helper()
	conn, err := c.dial(raftport.NodeID(name))
	require_NoError(c.t, err)
	return conn
}

// budgetHost is a cluster of one host, S-1, past whose storage budget of
// 64 bytes one 100-byte entry puts it.
func budgetHost(t *testing.T) (*cluster, *raftport.Server) {
	t.Helper()
	c := createRaftCluster(t, "R1S", 0)
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) { cfg.MaxStorageBytes = 64 })
	return c, s
}

// client returns a connection for the test itself, as the reference tests
// connect a NATS client to watch or inject $NRG traffic.
func (c *cluster) client() transport.Conn {
	c.t.Helper()
	var id string
	c.remember(func() {
		c.clients++
		id = fmt.Sprintf("client-%d", c.clients)
	})
	conn, err := c.dial(id)
	require_NoError(c.t, err)
	c.remember(func() { c.conns = append(c.conns, conn) })
	return conn
}

// shutdown stops every host, waits for every state machine loop to end and
// closes the network. It is safe to call more than once.
func (c *cluster) shutdown() {
	var servers []*raftport.Server
	var sms []stateMachine
	var nodes []raftport.RaftNode
	var conns []transport.Conn
	already := false
	c.remember(func() {
		already, c.down = c.down, true
		servers, sms, conns = slices.Clone(c.servers), slices.Clone(c.sms), slices.Clone(c.conns)
		nodes = slices.Clone(c.nodes)
	})
	if already {
		return
	}
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

// storageKind is where a test node's log lives: in files (storage.OpenFileWAL)
// or in memory (storage.NewMemWAL), the reference's FileStorage and
// MemoryStorage.
type storageKind int

const (
	fileStorage storageKind = iota
	memoryStorage
)

// newLog opens a fresh log of the given kind, and says where a file log
// lives ("" for memory).
func (c *cluster) newLog(st storageKind) (storage.WAL, string) {
	c.t.Helper()
	if st == memoryStorage {
		return storage.NewMemWAL(), ""
	}
	dir := c.tempDir()
	return openFileWAL(c.t, dir), dir
}

// halt stops a node and waits until it has stopped.
func halt(n raftport.RaftNode) {
	n.Stop()
	n.WaitForStop()
}

// openFileWAL opens (or reopens, after a stop) the file WAL in dir with the
// safe default sync policy.
func openFileWAL(t testing.TB, dir string) storage.WAL {
	t.Helper()
	w, err := storage.OpenFileWAL(dir, storage.WALOptions{})
	if err != nil {
		t.Fatalf("opening the file WAL in %s: %v", dir, err)
	}
	return w
}

// ---- watching the wire ----

// request publishes data to subject and waits for the first answer, as a
// NATS client's Request.
func request(conn transport.Conn, subject string, data []byte, timeout time.Duration) ([]byte, error) {
	inbox := conn.NewInbox()
	answers := make(chan *message, 1)
	sub, err := conn.Subscribe(inbox, forwardTo(answers))
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := conn.Publish(subject, inbox, data); err != nil {
		return nil, err
	}
	select {
	case msg := <-answers:
		return msg.Data, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("request on %s: no answer within %v", subject, timeout)
	}
}

// message is what a test subscription delivers.
type message struct {
	Subject string
	Reply   string
	Data    []byte
}

// forwardTo is a handler that passes every message on to ch; a full
// channel drops, as a slow consumer would.
func forwardTo(ch chan *message) transport.Handler {
	return func(subj, reply string, data []byte) {
		select {
		case ch <- &message{Subject: subj, Reply: reply, Data: data}:
		default:
		}
	}
}

// subscribeInto sends every message on subject to ch, which several
// subscriptions may share.
func subscribeInto(t testing.TB, conn transport.Conn, subject string, ch chan *message) transport.Subscription {
	t.Helper()
	sub, err := conn.Subscribe(subject, forwardTo(ch))
	require_NoError(t, err)
	return sub
}

// chanSubscribe is nats.Conn.ChanSubscribe: every message on subject goes
// to the returned channel of the given buffer.
func chanSubscribe(t testing.TB, conn transport.Conn, subject string, size int) (chan *message, transport.Subscription) {
	t.Helper()
	ch := make(chan *message, size)
	return ch, subscribeInto(t, conn, subject, ch)
}

// watch is chanSubscribe on a fresh client of c, unsubscribed when the
// test ends.
func (c *cluster) watch(subject string, size int) chan *message {
	c.t.Helper()
	ch, sub := chanSubscribe(c.t, c.client(), subject, size)
	c.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

// decodeAE decodes an append entry the test read off the wire.
func decodeAE(t testing.TB, msg *message) aeSpec {
	t.Helper()
	ae, err := codec.DecodeAppendEntry(msg.Data)
	if err != nil {
		t.Fatalf("decoding the append entry sent on %s: %v", msg.Subject, err)
	}
	return ae
}
