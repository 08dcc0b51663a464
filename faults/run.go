package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// Broken names a deliberately broken mode, in which the checks must fail.
type Broken int

const (
	NotBroken Broken = iota
	// StaleReads serves gets from a random replica's local state instead
	// of through the log.
	StaleReads
	// UnsyncedAcks acknowledges entries before any fsync (the WAL's
	// unsafe SyncEvery with an hour between syncs).
	UnsyncedAcks
)

func (b Broken) String() string {
	return [...]string{"none", "stale-reads", "unsynced-acks"}[b]
}

// Config is one run. Zero fields take the defaults of withDefaults.
type Config struct {
	Seed     int64
	Nodes    int           // group size: 3 or 5
	Clients  int           // concurrent client sessions
	Keys     int           // keys the clients share
	Duration time.Duration // how long the faults go on
	Faults   []Kind        // what the nemesis draws from; none means a quiet run
	// Loss drops this share of every node-to-node message for the whole
	// fault phase, on top of the nemesis (the message loss scenario).
	Loss          float64
	Broken        Broken
	SnapshotEvery int           // applied batches between snapshots
	OpTimeout     time.Duration // a client gives up on one command after this
	// AttemptTimeout is how long a client waits for one replica;
	// CommandTimeout how long a replica waits for a command's outcome.
	AttemptTimeout time.Duration
	CommandTimeout time.Duration
	// HealTimeout bounds the wait for the group to recover once healed.
	HealTimeout  time.Duration
	CheckTimeout time.Duration // bounds porcupine's search
	// ValueSize pads every value a client writes to this many bytes, its
	// unique prefix kept: at 16 KiB every batch carrying a write is one the
	// leader encodes into its batch memory rather than a fresh allocation.
	ValueSize int
	// Logger, when set, gets every node's raftport log (debug level with
	// FAULTS_DEBUG=1 in the tests).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Clients == 0 {
		c.Clients = 5
	}
	if c.Keys == 0 {
		c.Keys = 4
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 64
	}
	def(&c.Duration, 5*time.Second)
	def(&c.OpTimeout, 3*time.Second)
	def(&c.AttemptTimeout, 300*time.Millisecond)
	def(&c.CommandTimeout, time.Second)
	def(&c.HealTimeout, 30*time.Second)
	def(&c.CheckTimeout, 60*time.Second)
	return c
}

func (c Config) syncPolicy() storage.SyncPolicy {
	if c.Broken == UnsyncedAcks {
		return storage.SyncEvery(time.Hour)
	}
	return storage.SyncAlways
}

func (c Config) String() string {
	kinds := make([]string, len(c.Faults))
	for i, k := range c.Faults {
		kinds[i] = string(k)
	}
	s := fmt.Sprintf("seed %d: %d nodes, %d clients, %d keys, %v of faults [%s]", c.Seed, c.Nodes, c.Clients, c.Keys, c.Duration, strings.Join(kinds, " "))
	if c.Loss > 0 {
		s += fmt.Sprintf(", %.0f%% message loss", 100*c.Loss)
	}
	if c.ValueSize > 0 {
		s += fmt.Sprintf(", values of %d B", c.ValueSize)
	}
	if c.Broken != NotBroken {
		s += ", BROKEN MODE " + c.Broken.String()
	}
	return s
}

// Report is what a run found.
type Report struct {
	Config   Config
	Schedule []step
	Events   []string
	Injected map[Kind]int

	Ops     int // operations recorded
	Checked int // operations the checker saw (unknown reads left out)
	Unknown int // operations whose outcome stayed unknown
	Acked   int // acknowledged writes (puts and compare-and-sets)
	// Throughput is the operations completed per second of faults.
	Throughput float64

	Linearizable porcupine.CheckResult
	Shortest     []op     // the shortest non-linearizable history found
	Lost         []string // acknowledged writes some member never applied
	Diverged     []string // members that applied other commands
	Failures     []error  // the group did not recover, a node would not restart

	Counters counters
	Catchup  catchupReport
	Elapsed  time.Duration
}

// Err is nil when every check held.
func (r *Report) Err() error {
	var errs []error
	errs = append(errs, r.Failures...)
	switch r.Linearizable {
	case porcupine.Illegal:
		errs = append(errs, fmt.Errorf("history of %d operations is not linearizable", r.Checked))
	case porcupine.Unknown:
		errs = append(errs, fmt.Errorf("checker could not decide within %v", r.Config.CheckTimeout))
	}
	if len(r.Lost) > 0 {
		errs = append(errs, fmt.Errorf("%d acknowledged writes lost", len(r.Lost)))
	}
	if len(r.Diverged) > 0 {
		errs = append(errs, fmt.Errorf("replicas diverged: %s", strings.Join(r.Diverged, "; ")))
	}
	return errors.Join(errs...)
}

// String is the run's full account: configuration, schedule, what
// happened, counters and, on failure, the shortest failing history.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s\nschedule:\n%s", r.Config, formatSchedule(r.Schedule))
	fmt.Fprintf(&b, "events:\n")
	for _, e := range r.Events {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "result: %d ops (%d checked, %d unknown, %d acknowledged writes), %.0f ops/s, linearizable: %s, lost: %d, diverged: %d, took %v\n",
		r.Ops, r.Checked, r.Unknown, r.Acked, r.Throughput, resultName(r.Linearizable), len(r.Lost), len(r.Diverged), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "counters: %s\ncatchup: %s\n", r.Counters, r.Catchup)
	for _, err := range r.Failures {
		fmt.Fprintf(&b, "failure: %v\n", err)
	}
	for _, d := range r.Diverged {
		fmt.Fprintf(&b, "not in agreement: %s\n", d)
	}
	for i, l := range r.Lost {
		if i == 10 {
			fmt.Fprintf(&b, "  ... %d more lost\n", len(r.Lost)-10)
			break
		}
		fmt.Fprintf(&b, "lost: %s\n", l)
	}
	if len(r.Shortest) > 0 {
		fmt.Fprintf(&b, "shortest non-linearizable history (%d ops):\n%s", len(r.Shortest), formatOps(r.Shortest))
	}
	return b.String()
}

func resultName(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "yes"
	case porcupine.Illegal:
		return "NO"
	}
	return "undecided"
}

// Run runs one seeded scenario in dir and checks it.
func Run(cfg Config, dir string) *Report {
	cfg = cfg.withDefaults()
	began := time.Now()
	r := &Report{Config: cfg, Schedule: newSchedule(cfg.Seed, cfg.Faults, cfg.Duration), Linearizable: porcupine.Ok}
	defer func() { r.Elapsed = time.Since(began) }()

	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		r.Events = append(r.Events, fmt.Sprintf(format, args...))
	}
	c, err := newCluster(cfg, dir, logf)
	if err != nil {
		r.Failures = append(r.Failures, err)
		return r
	}
	defer c.shutdown()
	if err := waitFor(cfg.HealTimeout, func() bool { return c.leader() != nil }); err != nil {
		r.Failures = append(r.Failures, fmt.Errorf("no first leader: %w", err))
		return r
	}

	h := newHistory()
	nem := newNemesis(c, logf)
	if cfg.Loss > 0 {
		for _, f := range nodeLinks(c.ids()) {
			c.net.Drop(f, cfg.Loss)
		}
	}
	phase, endPhase := context.WithTimeout(context.Background(), cfg.Duration)
	defer endPhase()
	var clients []*kv.Client
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		cl, err := c.client(i)
		if err != nil {
			r.Failures = append(r.Failures, err)
			return r
		}
		clients = append(clients, cl)
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			runClient(phase, i, cl, h, cfg, rng, c.ids())
		}()
	}
	done := make(chan struct{})
	nemDone := make(chan struct{})
	go func() {
		defer close(nemDone)
		nem.run(r.Schedule, done)
	}()
	<-phase.Done()
	faultEnd := h.now()

	// Heal: every undo runs now, then whatever is left is cleared.
	close(done)
	<-nemDone
	nem.stop()
	nem.mu.Lock()
	nem.event("heal everything")
	c.heal()
	nem.mu.Unlock()
	wg.Wait()

	r.Injected, r.Events = nem.injected, append(nem.events, r.Events...)
	r.checkAfterHeal(c, h, clients)
	ops := h.all()
	r.Ops = len(ops)
	completed := 0
	for _, o := range ops {
		switch {
		case o.Out.Unknown:
			r.Unknown++
		default:
			if o.Call < faultEnd {
				completed++
			}
			if o.In.Op != kv.OpGet && o.Seq > 0 {
				r.Acked++
			}
		}
	}
	r.Throughput = float64(completed) / cfg.Duration.Seconds()
	r.Checked = len(toPorcupine(ops))
	r.Linearizable = checkLinearizable(ops, cfg.CheckTimeout)
	if r.Linearizable == porcupine.Illegal {
		r.Shortest = shortestFailing(ops)
	}
	names := map[string]string{}
	for _, m := range c.members {
		names[m.id] = m.name
	}
	r.Catchup = analyzeCatchups(c.wire, names)
	return r
}

// checkAfterHeal waits for the healed group to commit again and to agree,
// then checks that every acknowledged write is on every member.
func (r *Report) checkAfterHeal(c *cluster, h *history, clients []*kv.Client) {
	cfg := r.Config
	barrier, err := c.client(len(clients) + 1)
	if err != nil {
		r.Failures = append(r.Failures, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HealTimeout)
	defer cancel()
	if err := barrier.Put(ctx, "barrier", "healed"); err != nil {
		r.Failures = append(r.Failures, fmt.Errorf("the healed group did not commit a write within %v: %w", cfg.HealTimeout, err))
		r.Counters = collectCounters(c, c.wire, clients, 0)
		return
	}
	var members []*member
	var leader *member
	var waiting string
	if err := waitFor(cfg.HealTimeout, func() bool {
		waiting = "no leader"
		leader = c.leader()
		if leader == nil {
			return false
		}
		if leader.node.Raft().MembershipChangeInProgress() {
			waiting = fmt.Sprintf("leader %s has a membership change in progress", leader.name)
			return false
		}
		members = c.finalMembers(leader)
		if !slices.Contains(members, leader) {
			waiting = fmt.Sprintf("leader %s does not list itself among %s", leader.name, namesOf(members))
			return false
		}
		c.settle(members)
		for _, m := range members {
			if !m.up {
				waiting = fmt.Sprintf("leader %s lists %s (cluster size %d), which is not running", leader.name, m.name, leader.node.Raft().ClusterSize())
				c.restart(m)
				return false
			}
		}
		return true
	}); err != nil {
		r.Failures = append(r.Failures, fmt.Errorf("no leader with a settled membership after heal (%s): %w", waiting, err))
		return
	}
	r.Counters = collectCounters(c, c.wire, clients, leader.node.Raft().Term())
	r.Failures = append(r.Failures, c.failed...)

	// Agreement: every member applied the same commands in the same order.
	var statuses map[*member]kv.Status
	if err := waitFor(cfg.HealTimeout, func() bool {
		statuses = map[*member]kv.Status{}
		for _, m := range members {
			statuses[m] = m.node.Status(true)
		}
		for _, st := range statuses {
			if st.Digest != statuses[members[0]].Digest {
				return false
			}
		}
		return true
	}); err != nil {
		r.Diverged = append(r.Diverged, fmt.Sprintf("leader %s, members %s", leader.name, namesOf(members)))
		for _, m := range members {
			st := statuses[m]
			r.Diverged = append(r.Diverged, fmt.Sprintf("%s applied %d commands (index %d, term %d, leader %q, digest %s)",
				m.name, st.Digest.Commands, st.Applied, st.Term, st.LeaderID, st.Digest.Hash))
		}
	}

	byName := map[string]kv.Status{}
	for m, st := range statuses {
		byName[m.name] = st
	}
	r.Lost = lostWrites(h.all(), byName)
}

// lostWrites lists the acknowledged writes of ops that some replica (its
// status by name) never applied.
func lostWrites(ops []op, statuses map[string]kv.Status) []string {
	var names []string
	for name := range statuses {
		names = append(names, name)
	}
	slices.Sort(names)
	var lost []string
	for _, o := range ops {
		if o.Out.Unknown || o.In.Op == kv.OpGet || o.Seq == 0 {
			continue
		}
		var missing []string
		for _, name := range names {
			if !statuses[name].Sessions[o.Session].Applied(o.Seq) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			lost = append(lost, fmt.Sprintf("%s: not applied on %s", o, strings.Join(missing, ",")))
		}
	}
	return lost
}

// runClient sends commands until the fault phase ends: gets, puts of
// unique values and compare-and-sets from the last value it saw.
func runClient(phase context.Context, i int, cl *kv.Client, h *history, cfg Config, rng *rand.Rand, nodes []string) {
	seen := map[string]string{}
	for n := 0; phase.Err() == nil; n++ {
		key := fmt.Sprintf("k%d", rng.IntN(cfg.Keys))
		in := opInput{Key: key}
		switch p := rng.IntN(10); {
		case p < 4:
			in.Op = kv.OpGet
		case p < 7:
			in.Op, in.Value = kv.OpPut, clientValue(cfg, i, n)
		default:
			in.Op, in.Old, in.Value = kv.OpCAS, seen[key], clientValue(cfg, i, n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.OpTimeout)
		call := h.now()
		var res kv.Result
		var err error
		var seq uint64
		if in.Op == kv.OpGet && cfg.Broken == StaleReads {
			res, err = cl.ReadLocal(ctx, nodes[rng.IntN(len(nodes))], key)
		} else {
			res, err = cl.Do(ctx, kv.Command{Op: in.Op, Key: in.Key, Value: in.Value, Old: in.Old})
			seq = cl.Seq()
		}
		ret := h.now()
		cancel()
		h.add(op{Client: i, Session: cl.ID(), Seq: seq, In: in, Out: opOutput{Result: res, Unknown: err != nil}, Call: call, Return: ret})
		if err != nil {
			continue
		}
		switch {
		case in.Op == kv.OpGet && res.Found:
			seen[key] = res.Value
		case in.Op == kv.OpPut, in.Op == kv.OpCAS && res.OK:
			seen[key] = in.Value
		}
	}
}

// clientValue is the value client i writes in its nth command: unique,
// and padded to cfg.ValueSize.
func clientValue(cfg Config, i, n int) string {
	v := fmt.Sprintf("%d.%d", i, n)
	if pad := cfg.ValueSize - len(v); pad > 0 {
		v += strings.Repeat("-", pad)
	}
	return v
}

// waitFor polls cond until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
