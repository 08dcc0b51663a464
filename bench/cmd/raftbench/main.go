// Command raftbench replicates the same workload on raftport, hashicorp/raft
// and etcd raft, one after another in this process, and prints the median
// figures of each with raftport's ratios against the other two.
//
//	go run ./cmd/raftbench [-n 10000] [-size 256] [-window 64] [-runs 3]
//
// Durable logs go under $TMPDIR.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/porttrack-dev/porttrack/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	entries int
	runs    int
	opts    bench.Options
	impls   []bench.Impl
}

// maxLogBytes bounds entries*size: every node of every group keeps its
// whole log in memory.
const maxLogBytes = 1 << 30

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("raftbench", flag.ContinueOnError)
	// Errors are reported in one line by run, not with the usage dump.
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 10000, "entries to replicate per run")
	size := fs.Int("size", 256, "payload bytes per entry (at least 8)")
	window := fs.Int("window", 64, "proposals outstanding at once")
	runs := fs.Int("runs", 3, "runs per implementation; the median is reported")
	only := fs.String("impl", "", "comma-separated implementations to run (default all)")
	timeout := fs.Duration("timeout", bench.DefaultTimeout, "limit for the election and for each run")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config{entries: *n, runs: *runs, opts: bench.Options{Window: *window, EntrySize: *size, Timeout: *timeout}}
	switch {
	case *n < 1:
		return config{}, fmt.Errorf("-n must be at least 1, got %d", *n)
	case *runs < 1:
		return config{}, fmt.Errorf("-runs must be at least 1, got %d", *runs)
	case *timeout <= 0:
		return config{}, fmt.Errorf("-timeout must be positive, got %v", *timeout)
	}
	if err := cfg.opts.Validate(); err != nil {
		return config{}, flagError(err)
	}
	if int64(*n)*int64(*size) > maxLogBytes {
		return config{}, fmt.Errorf("-n × -size is %d bytes, above the %d each in-memory log may hold", int64(*n)*int64(*size), maxLogBytes)
	}
	if *only == "" {
		cfg.impls = bench.Implementations()
		return cfg, nil
	}
	for _, name := range strings.Split(*only, ",") {
		impl, err := bench.Lookup(strings.TrimSpace(name))
		if err != nil {
			return config{}, fmt.Errorf("-impl: %w", err)
		}
		cfg.impls = append(cfg.impls, impl)
	}
	return cfg, nil
}

// flagError names the flag behind an Options error.
func flagError(err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "window"):
		return errors.New("-" + msg)
	case strings.HasPrefix(msg, "entry size"):
		return errors.New("-size: " + msg)
	}
	return err
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: raftbench [-n entries] [-size bytes] [-window proposals] [-runs count] [-impl names] [-timeout d]")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftbench: %v\n", err)
		return 2
	}
	results, err := measure(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "raftbench: %v\n", err)
		return 1
	}
	if err := report(stdout, cfg, results); err != nil {
		fmt.Fprintf(stderr, "raftbench: %v\n", err)
		return 1
	}
	return 0
}

// measure runs every implementation once per round, so that a machine
// getting slower or faster during the runs affects all of them alike.
func measure(cfg config, progress io.Writer) (map[string][]bench.Result, error) {
	results := make(map[string][]bench.Result)
	for round := range cfg.runs {
		for _, impl := range cfg.impls {
			res, err := bench.Run(impl, cfg.entries, cfg.opts)
			if err != nil {
				return nil, fmt.Errorf("run %d: %w", round+1, err)
			}
			fmt.Fprintf(progress, "run %d/%d %-14s %12.0f entries/s\n", round+1, cfg.runs, impl.Name, res.EntriesPerSec())
			results[impl.Name] = append(results[impl.Name], res)
		}
	}
	return results, nil
}

func report(w io.Writer, cfg config, results map[string][]bench.Result) error {
	fmt.Fprintf(w, "raftbench: %d nodes in one process, %d entries of %d bytes, window %d, median of %d run(s); %s %s/%s, GOMAXPROCS %d\n\n",
		bench.GroupSize, cfg.entries, cfg.opts.EntrySize, cfg.opts.Window, cfg.runs,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	metrics := bench.Metrics()
	medians := make(map[string][]float64)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "implementation\t")
	for _, m := range metrics {
		fmt.Fprintf(tw, "%s\t", m.Name)
	}
	fmt.Fprintln(tw)
	for _, impl := range cfg.impls {
		med := bench.Median(results[impl.Name])
		medians[impl.Name] = med
		fmt.Fprintf(tw, "%s\t", impl.Name)
		for _, v := range med {
			fmt.Fprintf(tw, "%s\t", formatValue(v))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	pairs := ratioPairs(cfg.impls)
	if len(pairs) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "ratio\t")
		for _, m := range metrics {
			better := "lower is better"
			if m.HigherIsBetter {
				better = "higher is better"
			}
			fmt.Fprintf(tw, "%s (%s)\t", m.Name, better)
		}
		fmt.Fprintln(tw)
		for _, p := range pairs {
			fmt.Fprintf(tw, "%s / %s\t", p[0], p[1])
			for _, r := range bench.Ratios(medians[p[0]], medians[p[1]]) {
				if r == 0 {
					fmt.Fprint(tw, "n/a\t")
					continue
				}
				fmt.Fprintf(tw, "%.2f\t", r)
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nlogs:")
	for _, impl := range cfg.impls {
		fmt.Fprintf(w, "  %-14s %s\n", impl.Name, impl.Log)
	}
	fmt.Fprintln(w, "allocs and bytes are whole-process deltas over the run (all 3 nodes, transport, and 1 payload allocation per entry);")
	fmt.Fprintln(w, "latency is proposal to commit as applied on the leader; hashicorp's and etcd's in-memory transports pass")
	fmt.Fprintln(w, "messages by pointer, raftport's encodes them and copies the bytes per receiver.")
	return nil
}

// ratioPairs compares every raftport variant run with every other
// implementation run.
func ratioPairs(impls []bench.Impl) [][2]string {
	var pairs [][2]string
	for _, a := range impls {
		if !strings.HasPrefix(a.Name, "raftport") {
			continue
		}
		for _, b := range impls {
			if !strings.HasPrefix(b.Name, "raftport") {
				pairs = append(pairs, [2]string{a.Name, b.Name})
			}
		}
	}
	return pairs
}

// formatValue keeps large figures readable and small ones precise.
func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
