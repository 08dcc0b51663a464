// Command soak runs the fault suite's long campaign: many seeded runs of
// mixed faults on 3- and 5-node groups, one after another, and prints
// totals: runs, faults injected by kind, operations checked, writes lost,
// histories not linearizable, runs where the group did not recover, and
// runs that broke the catchup bound. A failing run prints its whole report
// (seed, schedule, events, shortest failing history); replay it with
// FAULTS_SEED=<seed> go test -run TestMixedFaults ./faults, or here with
// -seed <seed> -runs 1.
//
//	go run ./faults/cmd/soak -runs 1000 -duration 5s
//	go run ./faults/cmd/soak -loss -runs 3 -duration 8s   # issue 16's loss table
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/porttrack-dev/porttrack/faults"
)

type options struct {
	runs      int
	seed      int64
	duration  time.Duration
	dir       string
	loss      bool
	valueSize int
}

// maxValueSize bounds -value-size: a run keeps every value it wrote in
// its history, and the checker compares them.
const maxValueSize = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var opts options
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&opts.runs, "runs", 1000, "number of runs")
	fs.Int64Var(&opts.seed, "seed", 1, "seed of the first run; run i has seed+i")
	fs.DurationVar(&opts.duration, "duration", 5*time.Second, "fault phase of each run")
	fs.BoolVar(&opts.loss, "loss", false, "instead, print the message loss table: -runs seeds per row, the median of each")
	fs.IntVar(&opts.valueSize, "value-size", 0, "pad every value a client writes to this many bytes (16384 makes every batch with a write one the leader carves from its batch memory)")
	fs.StringVar(&opts.dir, "dir", "", "where the runs' nodes keep their files (default: /dev/shm if present, else the temp dir)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "soak: %v (\"soak -h\" lists the flags)\n", err)
		return 2
	}
	if opts.runs <= 0 || opts.duration <= 0 || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "soak: -runs and -duration must be positive, and no arguments are taken\n")
		return 2
	}
	if opts.valueSize < 0 || opts.valueSize > maxValueSize {
		fmt.Fprintf(stderr, "soak: -value-size must be within 0..%d bytes, got %d\n", maxValueSize, opts.valueSize)
		return 2
	}
	if opts.dir == "" {
		opts.dir = os.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			opts.dir = "/dev/shm"
		}
	}
	if opts.loss {
		return lossTable(opts, stdout)
	}
	return soak(opts, stdout)
}

// lossTable prints issue 16's table: throughput at 1%, 5% and 20% message
// loss against the same runs without, medians over -runs seeds.
func lossTable(opts options, out io.Writer) int {
	var seeds []int64
	for i := range opts.runs {
		seeds = append(seeds, opts.seed+int64(i))
	}
	base, err := os.MkdirTemp(opts.dir, "loss-")
	if err != nil {
		fmt.Fprintf(out, "soak: %v\n", err)
		return 1
	}
	defer os.RemoveAll(base)
	failed, n := 0, 0
	rows := faults.LossTable(seeds, opts.duration, func(cfg faults.Config) *faults.Report {
		n++
		dir := filepath.Join(base, fmt.Sprintf("run-%d", n))
		defer os.RemoveAll(dir)
		cfg.ValueSize = opts.valueSize
		r := faults.Run(cfg, dir)
		if err := r.Err(); err != nil {
			failed++
			fmt.Fprintf(out, "%s\n", r)
		}
		fmt.Fprintf(out, "%s: %.0f ops/s\n", r.Config, r.Throughput)
		return r
	})
	fmt.Fprintf(out, "\nmessage loss, 3 nodes, 5 clients, %v of faults per run, median of %d seeds:\n%s", opts.duration, opts.runs, faults.FormatLossTable(rows))
	if failed > 0 {
		fmt.Fprintf(out, "%d runs failed their checks\n", failed)
		return 1
	}
	return 0
}

// totals sum up a campaign.
type totals struct {
	runs, failed, notLinearizable, undecided, lost, diverged, unrecovered, catchupBroken int
	ops, checked                                                                         int
	injected                                                                             map[faults.Kind]int
	elapsed                                                                              time.Duration
}

func soak(opts options, out io.Writer) int {
	t := totals{injected: map[faults.Kind]int{}}
	began := time.Now()
	for i := range opts.runs {
		cfg := faults.Config{Seed: opts.seed + int64(i), Nodes: 3 + 2*(i%2), Duration: opts.duration, Faults: faults.AllKinds, ValueSize: opts.valueSize}
		dir, err := os.MkdirTemp(opts.dir, "soak-")
		if err != nil {
			fmt.Fprintf(out, "soak: %v\n", err)
			return 1
		}
		r := faults.Run(cfg, dir)
		os.RemoveAll(dir)
		t.add(r)
		status := "ok"
		if err := r.Err(); err != nil {
			status = "FAIL: " + err.Error()
			fmt.Fprintf(out, "%s\n", r)
		}
		fmt.Fprintf(out, "run %d/%d seed %d R%d: %d ops, %.0f ops/s, %v, catchup max %d at once %d/s: %s\n",
			i+1, opts.runs, cfg.Seed, cfg.Nodes, r.Ops, r.Throughput, r.Elapsed.Round(time.Millisecond),
			r.Catchup.MaxConcurrent, r.Catchup.MaxPerSecond, status)
	}
	t.elapsed = time.Since(began)
	t.print(out)
	if t.failed > 0 {
		return 1
	}
	return 0
}

func (t *totals) add(r *faults.Report) {
	t.runs++
	t.ops += r.Ops
	t.checked += r.Checked
	t.lost += len(r.Lost)
	for k, n := range r.Injected {
		t.injected[k] += n
	}
	if r.Err() != nil {
		t.failed++
	}
	switch r.Linearizable {
	case porcupine.Illegal:
		t.notLinearizable++
	case porcupine.Unknown:
		t.undecided++
	}
	if len(r.Diverged) > 0 {
		t.diverged++
	}
	if len(r.Failures) > 0 {
		t.unrecovered++
	}
	if !r.Catchup.Holds() {
		t.catchupBroken++
	}
}

func (t *totals) print(out io.Writer) {
	fmt.Fprintf(out, "\nsoak totals: %d runs in %v (%v per run), %d failed\n", t.runs, t.elapsed.Round(time.Second), (t.elapsed / time.Duration(t.runs)).Round(time.Millisecond), t.failed)
	fmt.Fprintf(out, "  operations: %d recorded, %d checked\n", t.ops, t.checked)
	fmt.Fprintf(out, "  acknowledged writes lost: %d\n", t.lost)
	fmt.Fprintf(out, "  histories not linearizable: %d (undecided: %d)\n", t.notLinearizable, t.undecided)
	fmt.Fprintf(out, "  runs with diverged replicas: %d; runs that did not recover after heal: %d\n", t.diverged, t.unrecovered)
	fmt.Fprintf(out, "  runs breaking the catchup bound (a follower sent 2 streams at once, or over 10 starts in a second; re-sends count as starts): %d\n", t.catchupBroken)
	fmt.Fprintf(out, "  faults injected:")
	var kinds []faults.Kind
	for k := range t.injected {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(out, " %s=%d", k, t.injected[k])
	}
	fmt.Fprintln(out)
}
