package transport

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startServer runs an embedded NATS server on loopback; port -1 picks a
// free one.
func startServer(t *testing.T, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(waitTimeout) {
		s.Shutdown()
		t.Fatalf("NATS server on port %d not ready within %v", port, waitTimeout)
	}
	t.Cleanup(func() { stopServer(s) })
	return s
}

func stopServer(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

func dialTest(t *testing.T, url string, opts ...NATSOption) *NATSConn {
	t.Helper()
	c, err := DialNATS(url, append([]NATSOption{WithReconnectWait(20*time.Millisecond, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestNATSConformance(t *testing.T) {
	runConformance(t, func(t *testing.T, count int) []Conn {
		s := startServer(t, -1)
		conns := make([]Conn, count)
		for i := range conns {
			conns[i] = dialTest(t, s.ClientURL())
		}
		return conns
	})
}

// events records connection state changes so a test can wait for one.
type events struct {
	mu   sync.Mutex
	seen map[NATSEvent]int
	ch   chan struct{}
}

func newEvents() *events { return &events{seen: make(map[NATSEvent]int), ch: make(chan struct{}, 1)} }

func (e *events) handle(ev NATSEvent, _ error) {
	e.mu.Lock()
	e.seen[ev]++
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

func (e *events) wait(t *testing.T, ev NATSEvent, count int) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		n := e.seen[ev]
		e.mu.Unlock()
		if n >= count {
			return
		}
		select {
		case <-e.ch:
		case <-deadline.C:
			t.Fatalf("saw %d %v events, want %d within %v", n, ev, count, waitTimeout)
		}
	}
}

// requestOnce sends one vote request and waits for the answer.
func requestOnce(t *testing.T, client Conn, inbox string, answers *recorder, payload string) {
	t.Helper()
	before := len(answers.snapshot())
	mustPublish(t, client, VoteSubject("g"), inbox, []byte(payload))
	got := answers.waitCount(t, before+1)
	if got[before].Data != "re:"+payload {
		t.Fatalf("answer %+v, want re:%s", got[before], payload)
	}
}

func answerVotes(t *testing.T, c Conn) {
	mustSubscribe(t, c, VoteSubject("g"), func(_, reply string, data []byte) {
		if err := c.Publish(reply, "", append([]byte("re:"), data...)); err != nil {
			t.Errorf("reply: %v", err)
		}
	})
}

func TestNATSServerRestart(t *testing.T) {
	first := startServer(t, -1)
	port := first.Addr().(*net.TCPAddr).Port
	url := first.ClientURL()
	srvEvents, cliEvents := newEvents(), newEvents()
	srv := dialTest(t, url, WithEventHandler(srvEvents.handle))
	cli := dialTest(t, url, WithEventHandler(cliEvents.handle))
	answerVotes(t, srv)
	inbox := cli.NewInbox()
	answers := newRecorder()
	mustSubscribe(t, cli, inbox, answers.handle)
	requestOnce(t, cli, inbox, answers, "before")

	stopServer(first)
	srvEvents.wait(t, NATSDisconnected, 1)
	cliEvents.wait(t, NATSDisconnected, 1)
	if err := cli.Publish(VoteSubject("g"), inbox, []byte("lost")); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Publish while disconnected = %v, want ErrDisconnected", err)
	}

	startServer(t, port)
	srvEvents.wait(t, NATSReconnected, 1)
	cliEvents.wait(t, NATSReconnected, 1)
	// Both round trips return only after the server has the resent
	// subscriptions, so the request below cannot outrun them.
	for _, c := range []*NATSConn{srv, cli} {
		if err := c.Flush(); err != nil {
			t.Fatalf("flush after reconnect: %v", err)
		}
	}
	requestOnce(t, cli, inbox, answers, "after")
	if got := answers.data(); !equalStrings(got, []string{"re:before", "re:after"}) {
		t.Fatalf("answers %v: the message published while down must not appear", got)
	}
}

func TestNATSReconnectBuffer(t *testing.T) {
	first := startServer(t, -1)
	port := first.Addr().(*net.TCPAddr).Port
	ev := newEvents()
	c := dialTest(t, first.ClientURL(), WithEventHandler(ev.handle), WithReconnectBuffer(1<<20))
	rec := newRecorder()
	mustSubscribe(t, c, AppendSubject("g"), rec.handle)
	stopServer(first)
	ev.wait(t, NATSDisconnected, 1)
	// nats.go resends subscriptions before the buffered messages on the same
	// connection, so this one is delivered after the reconnect.
	mustPublish(t, c, AppendSubject("g"), "", []byte("buffered"))
	startServer(t, port)
	ev.wait(t, NATSReconnected, 1)
	if got := rec.waitCount(t, 1); got[0].Data != "buffered" {
		t.Fatalf("got %+v, want the buffered message", got)
	}
}

func TestNATSSubjectPrefix(t *testing.T) {
	s := startServer(t, -1)
	a1 := dialTest(t, s.ClientURL(), WithSubjectPrefix("acct1"))
	b1 := dialTest(t, s.ClientURL(), WithSubjectPrefix("acct1"))
	a2 := dialTest(t, s.ClientURL(), WithSubjectPrefix("acct2"))
	raw := dialTest(t, s.ClientURL(), WithSubjectPrefix(""))
	answerVotes(t, a1)
	other, wire := newRecorder(), newRecorder()
	mustSubscribe(t, a2, AllSubjects, other.handle)
	mustSubscribe(t, raw, ">", wire.handle)

	inbox := b1.NewInbox()
	answers := newRecorder()
	mustSubscribe(t, b1, inbox, answers.handle)
	requestOnce(t, b1, inbox, answers, "q")
	if got := answers.snapshot()[0]; got.Subject != inbox {
		t.Fatalf("handler saw subject %q, want the unprefixed inbox %q", got.Subject, inbox)
	}
	wantWire := []received{
		{Subject: "acct1.$NRG.V.g", Reply: "acct1." + inbox, Data: "q"},
		{Subject: "acct1." + inbox, Data: "re:q"},
	}
	got := wire.waitCount(t, 2)
	for i, w := range wantWire {
		if got[i] != w {
			t.Fatalf("wire message %d = %+v, want %+v", i, got[i], w)
		}
	}
	// a2's subscription was confirmed before the request, so a leak across
	// prefixes would have reached it by the time the wire tap saw both.
	if leaked := other.snapshot(); len(leaked) != 0 {
		t.Fatalf("acct2 saw acct1 traffic: %v", leaked)
	}
	plain := dialTest(t, s.ClientURL())
	mustPublish(t, plain, AppendSubject("g"), "", []byte("default"))
	if got := wire.waitCount(t, 3)[2]; got.Subject != DefaultNATSSubjectPrefix+".$NRG.AE.g" {
		t.Fatalf("default prefix put %+v on the wire", got)
	}
	if _, err := DialNATS(s.ClientURL(), WithSubjectPrefix("a.*")); !errors.Is(err, ErrBadSubject) {
		t.Fatalf("wildcard prefix accepted: %v", err)
	}
}

func TestNewNATSLeavesConnOpen(t *testing.T) {
	s := startServer(t, -1)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := NewNATS(nc, WithReconnectWait(time.Second, 0)); err == nil {
		t.Fatal("NewNATS accepted a dial-only option")
	}
	c, err := NewNATS(nc)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	mustSubscribe(t, c, VoteSubject("g"), rec.handle)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() {
		t.Fatal("Close closed a nats.Conn the caller owns")
	}
	if n := nc.NumSubscriptions(); n != 0 {
		t.Fatalf("%d subscriptions left on the caller's connection after Close", n)
	}
	nc.Close()
	if _, err := NewNATS(nc); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewNATS on a closed nats.Conn = %v, want ErrClosed", err)
	}
}

func TestDialNATSFailsClearly(t *testing.T) {
	s := startServer(t, -1)
	port := s.Addr().(*net.TCPAddr).Port
	url := s.ClientURL()
	stopServer(s)
	_, err := DialNATS(url, WithNATSOptions(nats.Timeout(200*time.Millisecond)))
	if err == nil {
		t.Fatalf("DialNATS to a stopped server on port %d succeeded", port)
	}
	for _, bad := range []NATSOption{WithFlushTimeout(0), WithReconnectWait(0, 0), WithReconnectBuffer(0), WithPingInterval(-1), WithEventHandler(nil)} {
		if _, err := DialNATS(url, bad); err == nil {
			t.Error("DialNATS accepted an invalid option")
		}
	}
}

func BenchmarkNATSPublishDeliver(b *testing.B) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	defer stopServer(s)
	if !s.ReadyForConnections(waitTimeout) {
		b.Fatal("NATS server not ready")
	}
	pub, err := DialNATS(s.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := DialNATS(s.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	benchPublishDeliver(b, pub, sub)
}

// The server reserves "$NRG." for its own Raft; this is why the transport
// puts raftport's subjects under a prefix by default.
func TestNATSBareNRGSubjectsAreRefused(t *testing.T) {
	s := startServer(t, -1)
	ev := newEvents()
	c := dialTest(t, s.ClientURL(), WithSubjectPrefix(""), WithEventHandler(ev.handle))
	rec := newRecorder()
	mustSubscribe(t, c, VoteSubject("g"), rec.handle)
	mustPublish(t, c, VoteSubject("g"), "", []byte("denied"))
	ev.wait(t, NATSAsyncError, 1)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("a bare $NRG publish from a normal account was delivered: %v", got)
	}
}

func TestNATSNoEcho(t *testing.T) {
	s := startServer(t, -1)
	testNoEcho(t, dialTest(t, s.ClientURL(), WithNoEcho()), dialTest(t, s.ClientURL(), WithNoEcho()))
}

func TestNATSNameFlushAndEvents(t *testing.T) {
	s := startServer(t, -1)
	ev := newEvents()
	c := dialTest(t, s.ClientURL(), WithName("node-a"), WithEventHandler(ev.handle), WithFlushTimeout(time.Second))
	if got := c.NATS().Opts.Name; got != "node-a" {
		t.Fatalf("connection name %q, want node-a", got)
	}
	if err := c.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ev.wait(t, NATSClosed, 1)
	if err := c.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	names := map[NATSEvent]string{NATSDisconnected: "disconnected", NATSReconnected: "reconnected", NATSClosed: "closed", NATSAsyncError: "async error", 0: "NATSEvent(0)"}
	for e, want := range names {
		if e.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(e), e.String(), want)
		}
	}
}
