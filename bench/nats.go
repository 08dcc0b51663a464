package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// NATSCluster is a 3-server NATS cluster embedded in this process, all on
// 127.0.0.1, with JetStream on each server writing to files it fsyncs
// after every write (sync_interval: always).
type NATSCluster struct {
	dir     string
	servers []*server.Server
}

// natsConfig is one server's configuration file, in the syntax a NATS
// user writes; every server lists every cluster port as a route.
const natsConfig = `server_name: %s
listen: 127.0.0.1:-1
jetstream {
	store_dir: %q
	sync_interval: always
}
cluster {
	name: bench
	listen: 127.0.0.1:%d
	routes: [%s]
}
`

// StartNATSCluster starts the servers under dir and waits until
// JetStream can place an R3 stream on them.
func StartNATSCluster(dir string, timeout time.Duration) (c *NATSCluster, err error) {
	c = &NATSCluster{dir: dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	ports, err := freePorts(GroupSize)
	if err != nil {
		return nil, err
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	for i, port := range ports {
		name := fmt.Sprintf("nats-%d", i+1)
		conf := filepath.Join(dir, name+".conf")
		text := fmt.Sprintf(natsConfig, name, filepath.Join(dir, name), port, strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", conf, err)
		}
		opts.NoLog, opts.NoSigs = true, true
		srv, err := server.NewServer(opts)
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, srv)
		go srv.Start()
	}
	for _, srv := range c.servers {
		if !srv.ReadyForConnections(timeout) {
			return nil, fmt.Errorf("NATS server %s not ready within %v", srv.Name(), timeout)
		}
	}
	// The JetStream meta group elects its leader after the routes are up.
	err = waitFor(timeout, "no JetStream meta leader", func() bool {
		for _, srv := range c.servers {
			if srv.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return c, err
}

// freePorts asks the system for n unused loopback ports. They are free
// when returned; a cluster needs them before its servers start.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Close shuts every server down.
func (c *NATSCluster) Close() {
	for _, srv := range c.servers {
		srv.Shutdown()
	}
	for _, srv := range c.servers {
		srv.WaitForShutdown()
	}
}

// Dir is where the servers keep their JetStream files.
func (c *NATSCluster) Dir() string { return c.dir }

// RaftportOverNATS returns options under which a raftport session's node
// i connects to server i of c, without echo, as a NATS server's own Raft
// client does.
func (c *NATSCluster) RaftportOverNATS(opts Options) Options {
	opts.connect = func(i int, name string) (transport.Conn, error) {
		return transport.DialNATS(c.servers[i%len(c.servers)].ClientURL(), transport.WithNoEcho(), transport.WithName(name))
	}
	return opts
}

// JetStreamTarget names the reference's Raft as users run it.
var JetStreamTarget = Target{Library: "jetstream", Mode: Durable, Log: "JetStream R3 file stream, sync_interval: always"}

const benchStream = "BENCH"

// JetStreamThroughput creates a fresh R3 file stream, publishes to it
// from one client connected to the stream leader's server (one
// synchronous publisher for w.Proposers == 1, or w.Window asynchronous
// publishes in flight), and counts acknowledged messages in the measured
// span. It checks that the stream holds every acknowledged message.
func (c *NATSCluster) JetStreamThroughput(w Workload, timing Timing, timeout time.Duration) (res Result, err error) {
	if err := w.Validate(); err != nil {
		return Result{}, err
	}
	if !w.Pipelined() && w.Proposers != 1 {
		return Result{}, fmt.Errorf("JetStream runs one synchronous publisher or one with a window, not %d", w.Proposers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+timing.Warmup+timing.Measure)
	defer cancel()
	leaderURL, err := c.freshStream(ctx)
	if err != nil {
		return Result{}, err
	}
	nc, err := nats.Connect(leaderURL, nats.Name("bench-publisher"))
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(max(w.Window, 1)*2))
	if err != nil {
		return Result{}, err
	}
	pub := &jsPublisher{js: js, pattern: newPattern(w.EntrySize), base: time.Now()}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		if w.Pipelined() {
			done <- pub.async(ctx, w.Window, &stop)
		} else {
			done <- pub.sync(ctx, &stop)
		}
	}()
	res = Result{Target: JetStreamTarget, Workload: w}
	time.Sleep(timing.Warmup)
	hist := &latencyHistogram{}
	acked0 := pub.acked.Load()
	pub.hist.Store(hist)
	start := time.Now()
	time.Sleep(timing.Measure)
	res.Elapsed = time.Since(start)
	pub.hist.Store(nil)
	res.Entries = int(pub.acked.Load() - acked0)
	stop.Store(true)
	if err := <-done; err != nil {
		return Result{}, fmt.Errorf("jetstream, %s: %w", w, err)
	}
	res.LatencyP50, res.LatencyP99, res.LatencyMean = hist.quantile(0.50), hist.quantile(0.99), hist.mean()
	res.LogEntries = pub.acked.Load()
	stream, err := js.Stream(ctx, benchStream)
	if err != nil {
		return Result{}, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return Result{}, err
	}
	if info.State.Msgs != res.LogEntries {
		return Result{}, fmt.Errorf("jetstream, %s: the stream holds %d messages, %d were acknowledged", w, info.State.Msgs, res.LogEntries)
	}
	return res, nil
}

// freshStream deletes the previous run's stream, creates an R3 file
// stream and returns the client URL of its leader's server. The first
// creation may wait for the meta leader to settle.
func (c *NATSCluster) freshStream(ctx context.Context) (string, error) {
	nc, err := nats.Connect(c.servers[0].ClientURL(), nats.Name("bench-admin"))
	if err != nil {
		return "", err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return "", err
	}
	if err := js.DeleteStream(ctx, benchStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", err
	}
	cfg := jetstream.StreamConfig{Name: benchStream, Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage, Replicas: GroupSize}
	var stream jetstream.Stream
	for {
		stream, err = js.CreateStream(ctx, cfg)
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("creating the stream: %w", err)
	}
	var leader string
	if err := waitFor(time.Until(deadlineOf(ctx)), "stream without a leader", func() bool {
		info, err := stream.Info(ctx)
		if err == nil && info.Cluster != nil {
			leader = info.Cluster.Leader
		}
		return leader != ""
	}); err != nil {
		return "", err
	}
	for _, srv := range c.servers {
		if srv.Name() == leader {
			return srv.ClientURL(), nil
		}
	}
	return "", fmt.Errorf("stream leader %q is not one of the cluster's servers", leader)
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

// jsPublisher publishes the workload's payloads and times their acks.
type jsPublisher struct {
	js      jetstream.JetStream
	pattern []byte
	base    time.Time
	seq     uint64
	acked   atomic.Uint64
	hist    atomic.Pointer[latencyHistogram]
}

func (p *jsPublisher) payload() []byte {
	data := payload(p.pattern, 0, p.seq)
	p.seq++
	return data
}

func (p *jsPublisher) record(start time.Time) {
	p.acked.Add(1)
	if h := p.hist.Load(); h != nil {
		h.add(time.Since(start))
	}
}

// sync publishes one message at a time, each waiting for its ack.
func (p *jsPublisher) sync(ctx context.Context, stop *atomic.Bool) error {
	for !stop.Load() {
		start := time.Now()
		if _, err := p.js.Publish(ctx, "bench.entries", p.payload()); err != nil {
			return err
		}
		p.record(start)
	}
	return nil
}

// async keeps window publishes in flight; a collector takes their acks
// in publish order.
func (p *jsPublisher) async(ctx context.Context, window int, stop *atomic.Bool) error {
	type inflight struct {
		f     jetstream.PubAckFuture
		start time.Time
	}
	pending := make(chan inflight, window-1) // and one in the collector
	var wg sync.WaitGroup
	var ackErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for in := range pending {
			select {
			case <-in.f.Ok():
				p.record(in.start)
			case err := <-in.f.Err():
				if ackErr == nil {
					ackErr = err
				}
			case <-ctx.Done():
				if ackErr == nil {
					ackErr = ctx.Err()
				}
			}
		}
	}()
	var err error
	for !stop.Load() && err == nil {
		var f jetstream.PubAckFuture
		start := time.Now()
		if f, err = p.js.PublishAsync("bench.entries", p.payload()); err == nil {
			pending <- inflight{f: f, start: start}
		}
	}
	close(pending)
	wg.Wait()
	return errors.Join(err, ackErr)
}
