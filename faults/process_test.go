package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// replicaProcess is one kvnode serve process and how to start it again.
type replicaProcess struct {
	name string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *replicaProcess) start(t *testing.T, bin string) {
	t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("starting %s: %v", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(p.done)
	}()
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *replicaProcess) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// stop ends the process cleanly.
func (p *replicaProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
	p.cmd = nil
}

// TestProcessesKilledAndRestarted runs three kvnode processes over a NATS
// server embedded in the test, on 127.0.0.1, and SIGKILLs and restarts
// them one at a time while clients write: no acknowledged write is lost,
// the history is linearizable and the replicas agree. Bounded: a fixed
// number of kills within about fifteen seconds.
func TestProcessesKilledAndRestarted(t *testing.T) {
	seed := seedOr(t, 701)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	dir := t.TempDir()
	bin := filepath.Join(dir, "kvnode")
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../examples/kv/cmd/kvnode")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kvnode: %v\n%s", err, out)
	}

	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded NATS server not ready")
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()

	names := []string{"p1", "p2", "p3"}
	var ids []string
	var procs []*replicaProcess
	for _, name := range names {
		ids = append(ids, raftport.NodeID(name))
		p := &replicaProcess{name: name, log: filepath.Join(dir, name+".log"), args: []string{"serve",
			"-name", name, "-peers", "p1,p2,p3", "-dir", filepath.Join(dir, name), "-nats", ns.ClientURL(),
			"-election-timeout", "300ms", "-snapshot-every", "64"}}
		p.start(t, bin)
		procs = append(procs, p)
	}
	defer func() {
		for _, p := range procs {
			p.stop()
		}
		if t.Failed() {
			for _, p := range procs {
				if b, err := os.ReadFile(p.log); err == nil {
					t.Logf("%s log (last 2000 bytes):\n%s", p.name, tail(b, 2000))
				}
			}
		}
	}()

	var conns []*transport.NATSConn
	dial := func(name string) *kv.Client {
		conn, err := transport.DialNATS(ns.ClientURL(), transport.WithNoEcho(), transport.WithName(name))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		return kv.NewClient(conn, "kv", ids, kv.WithAttemptTimeout(time.Second))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	cfg := Config{Keys: 3, OpTimeout: 10 * time.Second}.withDefaults()
	h := newHistory()
	phase, endPhase := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var clients []*kv.Client
	for i := range 3 {
		cl := dial(fmt.Sprintf("client-%d", i))
		clients = append(clients, cl)
		crng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			runClient(phase, i, cl, h, cfg, crng, ids)
		}()
	}

	const kills = 6
	var events []string
	start := time.Now()
	for range kills {
		time.Sleep(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
		p := procs[rng.IntN(len(procs))]
		events = append(events, fmt.Sprintf("%6.2fs SIGKILL %s", time.Since(start).Seconds(), p.name))
		p.kill()
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		events = append(events, fmt.Sprintf("%6.2fs restart %s", time.Since(start).Seconds(), p.name))
		p.start(t, bin)
	}
	time.Sleep(500 * time.Millisecond)
	endPhase()
	wg.Wait()
	t.Logf("seed %d, kills:\n  %s", seed, joinLines(events))

	// Every replica must agree and hold every acknowledged write.
	barrier := dial("barrier")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := barrier.Put(ctx, "barrier", "done"); err != nil {
		t.Fatalf("no write committed after the kills: %v", err)
	}
	var statuses map[string]kv.Status
	if err := waitFor(30*time.Second, func() bool {
		statuses = map[string]kv.Status{}
		for i, id := range ids {
			st, err := barrier.Status(ctx, id, true)
			if err != nil {
				return false
			}
			statuses[names[i]] = st
		}
		for _, st := range statuses {
			if st.Digest != statuses[names[0]].Digest {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("replicas did not agree: %+v", statuses)
	}
	ops := h.all()
	if lost := lostWrites(ops, statuses); len(lost) > 0 {
		t.Fatalf("%d acknowledged writes lost, first: %s", len(lost), lost[0])
	}
	if res := checkLinearizable(ops, time.Minute); res != porcupine.Ok {
		t.Fatalf("history of %d ops: linearizable %s\nshortest failing:\n%s", len(ops), resultName(res), formatOps(shortestFailing(ops)))
	}
	var unknown int
	for _, o := range ops {
		if o.Out.Unknown {
			unknown++
		}
	}
	t.Logf("%d ops (%d unknown) over %d SIGKILLs, linearizable, none lost, replicas agree on %+v", len(ops), unknown, kills, statuses[names[0]].Digest)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}
