package kv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// replica is one member of a test group, restartable on its directory.
type replica struct {
	name string
	dir  string
	conn transport.Conn
	host *raftport.Server
	node *kv.Node
	svc  *kv.Service
}

type group struct {
	t        *testing.T
	net      *transport.Network
	replicas []*replica
	ids      []string
}

func newGroup(t *testing.T, size int) *group {
	t.Helper()
	g := &group{t: t, net: transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})}
	base := t.TempDir()
	for i := range size {
		name := fmt.Sprintf("kv-%d", i+1)
		g.ids = append(g.ids, raftport.NodeID(name))
		g.replicas = append(g.replicas, &replica{name: name, dir: filepath.Join(base, name)})
	}
	for _, r := range g.replicas {
		g.start(r)
	}
	t.Cleanup(func() {
		for _, r := range g.replicas {
			g.stop(r)
		}
		g.net.Close()
	})
	return g
}

func (g *group) start(r *replica) {
	g.t.Helper()
	conn, err := g.net.Dial(raftport.NodeID(r.name))
	if err != nil {
		g.t.Fatal(err)
	}
	host, err := raftport.NewServer(raftport.ServerConfig{
		Name: r.name, Connect: func(string) (transport.Conn, error) { return conn, nil }, Timing: kv.Timing(250 * time.Millisecond),
	})
	if err != nil {
		g.t.Fatal(err)
	}
	wal, err := storage.OpenFileWAL(filepath.Join(r.dir, "wal"), storage.WALOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	node, err := kv.Start(kv.Config{Host: host, Group: "kv", Peers: g.ids, Dir: filepath.Join(r.dir, "raft"), Log: wal, SnapshotEvery: 20})
	if err != nil {
		g.t.Fatal(err)
	}
	svc, err := kv.Serve(node, conn, "kv", 2*time.Second)
	if err != nil {
		g.t.Fatal(err)
	}
	r.conn, r.host, r.node, r.svc = conn, host, node, svc
}

func (g *group) stop(r *replica) {
	if r.node == nil {
		return
	}
	r.svc.Close()
	r.node.Stop()
	r.host.Shutdown()
	r.conn.Close()
	r.node = nil
}

func (g *group) client(name string) *kv.Client {
	g.t.Helper()
	conn, err := g.net.Dial(name)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { conn.Close() })
	return kv.NewClient(conn, "kv", g.ids, kv.WithAttemptTimeout(500*time.Millisecond))
}

func (g *group) leader() *replica {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range g.replicas {
			if r.node != nil && r.node.Leader() {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.t.Fatal("no leader within 20s")
	return nil
}

// TestGroupServesAndSurvivesLeaderLoss: a client's puts, gets and
// compare-and-sets find the leader, keep working when it stops, and the
// stopped replica catches up (from a snapshot) when it restarts.
func TestGroupServesAndSurvivesLeaderLoss(t *testing.T) {
	g := newGroup(t, 3)
	c := g.client("client-1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Put(ctx, "a", "1"))
	if v, ok, err := c.Get(ctx, "a"); err != nil || !ok || v != "1" {
		t.Fatalf("get a = %q, %v, %v", v, ok, err)
	}
	if ok, err := c.CompareAndSet(ctx, "a", "0", "2"); err != nil || ok {
		t.Fatalf("cas on the wrong value = %v, %v", ok, err)
	}
	if ok, err := c.CompareAndSet(ctx, "a", "1", "2"); err != nil || !ok {
		t.Fatalf("cas = %v, %v", ok, err)
	}

	old := g.leader()
	g.stop(old)
	for i := range 50 {
		must(c.Put(ctx, fmt.Sprintf("k%d", i), "v"))
	}
	if v, _, err := c.Get(ctx, "a"); err != nil || v != "2" {
		t.Fatalf("after leader loss get a = %q, %v", v, err)
	}
	g.start(old)
	must(c.Put(ctx, "last", "x"))
	waitConverged(t, g)
}

// waitConverged waits until every replica applied the same commands.
func waitConverged(t *testing.T, g *group) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var first kv.Digest
		same := true
		for i, r := range g.replicas {
			d := r.node.Status(false).Digest
			if i == 0 {
				first = d
			} else if d != first {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for _, r := range g.replicas {
				t.Logf("%s: %+v", r.name, r.node.Status(false))
			}
			t.Fatal("replicas did not converge")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFollowerRefusesCommands: a follower proposes nothing and names the
// leader; a stopped node's pending commands end with ErrStopped.
func TestFollowerRefusesCommands(t *testing.T) {
	g := newGroup(t, 3)
	l := g.leader()
	var f *replica
	for _, r := range g.replicas {
		if r != l {
			f = r
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.node.Do(ctx, kv.Command{Client: 1, Seq: 1, Op: kv.OpPut, Key: "a", Value: "1"})
	if !errors.Is(err, kv.ErrNotLeader) {
		t.Fatalf("follower Do = %v, want ErrNotLeader", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.node.LeaderID() != l.node.ID() {
		if time.Now().After(deadline) {
			t.Fatalf("follower names leader %q, want %q", f.node.LeaderID(), l.node.ID())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, err := l.node.Do(ctx, kv.Command{Client: 1, Seq: 1, Op: kv.OpPut, Key: "a", Value: "1"}); err != nil || !r.OK {
		t.Fatalf("leader Do = %+v, %v", r, err)
	}

	// With both followers gone the leader cannot commit: the command
	// waits until the node stops.
	for _, r := range g.replicas {
		if r != l {
			g.stop(r)
		}
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.node.Do(context.Background(), kv.Command{Client: 1, Seq: 2, Op: kv.OpPut, Key: "a", Value: "2"})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	g.stop(l)
	if err := <-errc; !errors.Is(err, kv.ErrStopped) && !errors.Is(err, kv.ErrOutcomeUnknown) && !errors.Is(err, kv.ErrNotLeader) {
		t.Fatalf("pending command ended with %v", err)
	}
}
