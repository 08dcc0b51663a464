// Command raftbench measures raftport, hashicorp/raft and etcd raft in one
// invocation, on the workload applications run, and prints the tables
// with the setup they ran on:
//
//   - throughput with blocking proposers (each waits for its own entry to
//     commit), in memory and durable, 64 B and 4 KiB, 1 and 64 proposers;
//   - the same with one pipelined proposer (labelled: no waiting
//     application sees it);
//   - allocations, fsyncs per committed entry per node, memory per
//     million entries;
//   - time from a leader loss to the next commit;
//   - time for a follower 100,000 entries behind to catch up, from the
//     log and from a snapshot;
//   - raftport's durable mode over an embedded 3-server NATS cluster
//     beside a JetStream R3 file stream with sync_interval: always.
//
// Every figure is the median of -runs runs, with their range; every run
// goes to runs.json and runs.csv under -out.
//
//	go run ./cmd/raftbench [-runs 3] [-measure 2s] [-only blocking,nats] ...
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/porttrack-dev/porttrack/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Sections of the report, in order; -only picks some.
const (
	secBlocking  = "blocking"
	secPipelined = "pipelined"
	secFailover  = "failover"
	secCatchup   = "catchup"
	secNATS      = "nats"
)

var allSections = []string{secBlocking, secPipelined, secFailover, secCatchup, secNATS}

// options is the parsed command line.
type options struct {
	runs      int
	attempts  int
	timing    bench.Timing
	sizes     []int
	proposers []int
	window    int
	libs      []bench.Library
	modes     []bench.Mode
	sections  []string

	failoverTrials int
	catchupBehind  int
	catchupSize    int
	natsWindow     int

	timeout    time.Duration
	election   time.Duration
	dir        string // where logs go ("" = $TMPDIR)
	out        string // where runs.json and runs.csv go ("" = none)
	cpuProfile string // where a CPU profile of the whole invocation goes ("" = none)
	// authKey, with -auth, is the group key of the raftport+auth column:
	// raftport again, its transport authenticated (nil = no such column).
	authKey []byte
}

func (o options) has(section string) bool { return slices.Contains(o.sections, section) }

const usage = "usage: raftbench [-runs n] [-warmup d] [-measure d] [-sizes list] [-proposers list] [-window n] " +
	"[-libs list] [-modes memory,durable] [-only sections] [-failover-trials n] [-catchup-behind n] " +
	"[-catchup-size bytes] [-nats-window n] [-election d] [-timeout d] [-attempts n] [-dir path] [-out path] [-cpuprofile file] [-auth]"

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("raftbench", flag.ContinueOnError)
	// Errors are reported in one line by run, not with the usage dump.
	fs.SetOutput(io.Discard)
	o := options{}
	fs.IntVar(&o.runs, "runs", 3, "runs per cell; tables show the median and the range")
	fs.IntVar(&o.attempts, "attempts", 3, "attempts per run: a run that fails (a leader lost under load) is retried")
	fs.DurationVar(&o.timing.Warmup, "warmup", 500*time.Millisecond, "proposing before measuring, not counted")
	fs.DurationVar(&o.timing.Measure, "measure", 2*time.Second, "measured span of a throughput run")
	sizes := fs.String("sizes", "64,4096", "entry sizes in bytes")
	proposers := fs.String("proposers", "1,64", "numbers of blocking proposers")
	fs.IntVar(&o.window, "window", 64, "proposals in flight in the pipelined mode")
	libs := fs.String("libs", "raftport,hashicorp,etcd", "libraries to run")
	modes := fs.String("modes", "memory,durable", "log modes to run")
	only := fs.String("only", strings.Join(allSections, ","), "report sections to run")
	fs.IntVar(&o.failoverTrials, "failover-trials", 5, "leader losses per library and mode")
	fs.IntVar(&o.catchupBehind, "catchup-behind", 100_000, "entries a restarted follower lacks")
	fs.IntVar(&o.catchupSize, "catchup-size", 64, "entry size of the catch-up runs")
	fs.IntVar(&o.natsWindow, "nats-window", 256, "publishes or proposals in flight in the NATS section's pipelined rows")
	fs.DurationVar(&o.election, "election", bench.DefaultElectionTimeout, "election timeout of every library (followers wait 1-2× of it)")
	fs.DurationVar(&o.timeout, "timeout", bench.DefaultTimeout, "limit for an election, a commit or a catch-up")
	fs.StringVar(&o.dir, "dir", "", "directory for the durable logs (default $TMPDIR)")
	fs.StringVar(&o.out, "out", "", "directory for runs.json and runs.csv (default none)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole invocation to this file (narrow it with -libs, -modes, -only)")
	auth := fs.Bool("auth", false, "also run raftport with HMAC-authenticated transport connections (transport.AuthConn), as the column raftport+auth")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.sizes, err = parseInts("-sizes", *sizes, bench.MinEntrySize, bench.MaxEntrySize); err != nil {
		return options{}, err
	}
	if o.proposers, err = parseInts("-proposers", *proposers, 1, 4096); err != nil {
		return options{}, err
	}
	if o.libs, err = parseLibs(*libs); err != nil {
		return options{}, err
	}
	if o.modes, err = parseModes(*modes); err != nil {
		return options{}, err
	}
	if o.sections, err = parseSections(*only); err != nil {
		return options{}, err
	}
	for _, c := range []struct {
		name     string
		val, min int
	}{
		{"-runs", o.runs, 1}, {"-attempts", o.attempts, 1}, {"-failover-trials", o.failoverTrials, 1},
		{"-catchup-behind", o.catchupBehind, 1}, {"-catchup-size", o.catchupSize, bench.MinEntrySize},
		{"-window", o.window, 1}, {"-nats-window", o.natsWindow, 1},
	} {
		if c.val < c.min {
			return options{}, fmt.Errorf("%s must be at least %d, got %d", c.name, c.min, c.val)
		}
	}
	switch {
	case o.window > bench.MaxWindow || o.natsWindow > bench.MaxWindow:
		return options{}, fmt.Errorf("windows must be at most %d", bench.MaxWindow)
	case o.catchupSize > bench.MaxEntrySize:
		return options{}, fmt.Errorf("-catchup-size must be at most %d, got %d", bench.MaxEntrySize, o.catchupSize)
	case o.timing.Measure <= 0:
		return options{}, fmt.Errorf("-measure must be positive, got %v", o.timing.Measure)
	case o.timing.Warmup < 0:
		return options{}, fmt.Errorf("-warmup must not be negative, got %v", o.timing.Warmup)
	case o.timeout <= 0:
		return options{}, fmt.Errorf("-timeout must be positive, got %v", o.timeout)
	case o.election < 10*time.Millisecond:
		return options{}, fmt.Errorf("-election must be at least 10ms, got %v", o.election)
	}
	if *auth {
		hasRaftport := o.has(secNATS) || slices.ContainsFunc(o.libs, func(l bench.Library) bool { return l.Name == "raftport" })
		if !hasRaftport {
			return options{}, errors.New("-auth: raftport is not among -libs (nor is the nats section chosen)")
		}
		if o.authKey, err = bench.NewAuthKey(); err != nil {
			return options{}, fmt.Errorf("-auth: %w", err)
		}
	}
	return o, nil
}

func parseInts(name, list string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", name, f)
		}
		if v < lo || v > hi {
			return nil, fmt.Errorf("%s: %d is outside %d..%d", name, v, lo, hi)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseLibs(list string) ([]bench.Library, error) {
	var out []bench.Library
	for _, name := range strings.Split(list, ",") {
		lib, err := bench.LookupLibrary(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("-libs: %w", err)
		}
		out = append(out, lib)
	}
	return out, nil
}

func parseModes(list string) ([]bench.Mode, error) {
	var out []bench.Mode
	for _, name := range strings.Split(list, ",") {
		switch strings.TrimSpace(name) {
		case "memory":
			out = append(out, bench.InMemory)
		case "durable":
			out = append(out, bench.Durable)
		default:
			return nil, fmt.Errorf("-modes: unknown mode %q (have memory, durable)", name)
		}
	}
	return out, nil
}

func parseSections(list string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allSections, name) {
			return nil, fmt.Errorf("-only: unknown section %q (have %s)", name, strings.Join(allSections, ", "))
		}
		out = append(out, name)
	}
	return out, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftbench: %v\n", err)
		return 2
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			fmt.Fprintf(stderr, "raftbench: -out: %v\n", err)
			return 2
		}
	}
	if o.dir == "" {
		o.dir = os.TempDir()
	}
	dir, err := os.MkdirTemp(o.dir, "raftbench-")
	if err != nil {
		fmt.Fprintf(stderr, "raftbench: -dir: %v\n", err)
		return 2
	}
	defer os.RemoveAll(dir)
	o.dir = dir

	setup := describeSetup(o.dir)
	started := time.Now()
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		fmt.Fprintf(stderr, "raftbench: -cpuprofile: %v\n", err)
		return 2
	}
	results := measure(o, stderr)
	if err := stopProfile(); err != nil {
		fmt.Fprintf(stderr, "raftbench: -cpuprofile: %v\n", err)
		return 1
	}
	setup.finish(started)
	if err := report(stdout, o, setup, results); err != nil {
		fmt.Fprintf(stderr, "raftbench: %v\n", err)
		return 1
	}
	if o.out != "" {
		if err := writeRecords(filepath.Join(o.out, "runs"), setup, results.records()); err != nil {
			fmt.Fprintf(stderr, "raftbench: %v\n", err)
			return 1
		}
	}
	if n := results.failures(); n > 0 {
		fmt.Fprintf(stderr, "raftbench: %d cell(s) or section(s) have no figure; their errors are in the report\n", n)
		return 1
	}
	return 0
}

// startCPUProfile profiles the process into path until the returned
// function is called; an empty path profiles nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
