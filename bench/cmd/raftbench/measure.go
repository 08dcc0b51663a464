package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/bench"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// row is one line of a section's table; its cells are the section's
// columns.
type row struct {
	mode     bench.Mode
	workload bench.Workload // throughput and NATS rows
	snapshot bool           // catch-up rows: from a snapshot rather than the log
}

// cellKey names one cell: a row of a section in one column.
type cellKey struct {
	section string
	row     row
	column  string
}

// record is one run of a cell: what it measured, or why it failed.
type record struct {
	cellKey
	run, attempt int
	throughput   *bench.Result
	catchup      *bench.CatchupResult
	failover     time.Duration
	err          error
}

// results hold every run, by cell, and the layout of the tables.
type results struct {
	rows    map[string][]row
	columns map[string][]string
	runs    map[cellKey][]record // successful runs
	errs    map[cellKey][]record // failed attempts
	failed  map[cellKey]bool     // a run failed every attempt
	order   []record             // every attempt, in the order run
	// sectionErrs are sections that could not run at all (the NATS
	// cluster did not start, say).
	sectionErrs map[string]error
}

func newResults() *results {
	return &results{rows: map[string][]row{}, columns: map[string][]string{}, runs: map[cellKey][]record{},
		errs: map[cellKey][]record{}, failed: map[cellKey]bool{}, sectionErrs: map[string]error{}}
}

func (r *results) records() []record { return r.order }

// failures counts the cells without a figure, every run having failed
// every attempt, and the sections that could not run. A cell with some
// runs that passed has its figure, marked with their count.
func (r *results) failures() int {
	n := len(r.sectionErrs)
	for key := range r.failed {
		if len(r.runs[key]) == 0 {
			n++
		}
	}
	return n
}

// job is one cell's run function.
type job struct {
	key cellKey
	do  func(opts bench.Options) (record, error)
}

// measure runs every cell of the chosen sections. Each round runs every
// cell once before the next round starts, so that a machine getting
// slower or faster during the invocation affects all libraries alike.
func measure(o options, progress io.Writer) *results {
	res := newResults()
	base := bench.Options{Timeout: o.timeout, ElectionTimeout: o.election}
	cols := columnsOf(o)
	var libNames []string
	for _, col := range cols {
		libNames = append(libNames, col.name)
	}
	throughputJobs := func(section string, workloads func(size int) []bench.Workload) []job {
		var jobs []job
		res.columns[section] = libNames
		for _, mode := range o.modes {
			for _, size := range o.sizes {
				for _, w := range workloads(size) {
					rw := row{mode: mode, workload: w}
					res.rows[section] = append(res.rows[section], rw)
					for _, col := range cols {
						target, ok := col.lib.Target(mode)
						if !ok {
							continue
						}
						jobs = append(jobs, job{key: cellKey{section, rw, col.name}, do: func(opts bench.Options) (record, error) {
							r, err := bench.Throughput(target, w, o.timing, col.options(opts))
							return record{throughput: &r}, err
						}})
					}
				}
			}
		}
		return jobs
	}
	var rounds []job
	if o.has(secBlocking) {
		rounds = append(rounds, throughputJobs(secBlocking, func(size int) []bench.Workload {
			var ws []bench.Workload
			for _, p := range o.proposers {
				ws = append(ws, bench.Workload{Proposers: p, EntrySize: size})
			}
			return ws
		})...)
	}
	if o.has(secPipelined) {
		rounds = append(rounds, throughputJobs(secPipelined, func(size int) []bench.Workload {
			return []bench.Workload{{Window: o.window, EntrySize: size}}
		})...)
	}
	runRounds(res, rounds, o.runs, o, base, progress)

	if o.has(secFailover) {
		var jobs []job
		res.columns[secFailover] = libNames
		for _, mode := range o.modes {
			rw := row{mode: mode}
			res.rows[secFailover] = append(res.rows[secFailover], rw)
			for _, col := range cols {
				if target, ok := col.lib.Target(mode); ok {
					jobs = append(jobs, job{key: cellKey{secFailover, rw, col.name}, do: func(opts bench.Options) (record, error) {
						d, err := bench.Failover(target, col.options(opts))
						return record{failover: d}, err
					}})
				}
			}
		}
		runRounds(res, jobs, o.failoverTrials, o, base, progress)
	}

	if o.has(secCatchup) {
		var jobs []job
		res.columns[secCatchup] = libNames
		for _, mode := range o.modes {
			for _, snap := range []bool{false, true} {
				rw := row{mode: mode, snapshot: snap}
				res.rows[secCatchup] = append(res.rows[secCatchup], rw)
				for _, col := range cols {
					if target, ok := col.lib.Target(mode); ok {
						jobs = append(jobs, job{key: cellKey{secCatchup, rw, col.name}, do: func(opts bench.Options) (record, error) {
							r, err := bench.Catchup(target, o.catchupBehind, o.catchupSize, snap, col.options(opts))
							return record{catchup: &r}, err
						}})
					}
				}
			}
		}
		runRounds(res, jobs, o.runs, o, base, progress)
	}

	if o.has(secNATS) {
		if err := measureNATS(res, o, base, progress); err != nil {
			res.sectionErrs[secNATS] = err
			fmt.Fprintf(progress, "nats: %v\n", err)
		}
	}
	return res
}

// natsColumns are the NATS section's columns.
const (
	colRaftportNATS = "raftport"
	colJetStream    = "jetstream"
)

// colRaftportAuth is raftport with -auth: its transport authenticated.
const colRaftportAuth = "raftport+auth"

// column is one library column of the tables: a library, and the options
// it runs with (raftport+auth wraps raftport's connections).
type column struct {
	name string
	lib  bench.Library
	wrap func(node string, c transport.Conn) (transport.Conn, error)
}

func (c column) options(opts bench.Options) bench.Options {
	if c.wrap != nil {
		opts.WrapConn = c.wrap
	}
	return opts
}

// columnsOf is the chosen libraries in order, with raftport+auth right
// after raftport when -auth is on.
func columnsOf(o options) []column {
	var cols []column
	for _, lib := range o.libs {
		cols = append(cols, column{name: lib.Name, lib: lib})
		if lib.Name == "raftport" && o.authKey != nil {
			cols = append(cols, column{name: colRaftportAuth, lib: lib, wrap: bench.AuthWrap(o.authKey, nil)})
		}
	}
	return cols
}

func measureNATS(res *results, o options, base bench.Options, progress io.Writer) error {
	dir, err := os.MkdirTemp(o.dir, "nats-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cluster, err := bench.StartNATSCluster(dir, o.timeout)
	if err != nil {
		return fmt.Errorf("NATS cluster: %w", err)
	}
	defer cluster.Close()
	raftport, err := bench.LookupLibrary("raftport")
	if err != nil {
		return err
	}
	target, _ := raftport.Target(bench.Durable)
	raftportCols := []column{{name: colRaftportNATS, lib: raftport}}
	if o.authKey != nil {
		raftportCols = append(raftportCols, column{name: colRaftportAuth, lib: raftport, wrap: bench.AuthWrap(o.authKey, nil)})
	}
	for _, col := range raftportCols {
		res.columns[secNATS] = append(res.columns[secNATS], col.name)
	}
	res.columns[secNATS] = append(res.columns[secNATS], colJetStream)
	var jobs []job
	for _, size := range o.sizes {
		for _, w := range []bench.Workload{{Proposers: 1, EntrySize: size}, {Window: o.natsWindow, EntrySize: size}} {
			rw := row{mode: bench.Durable, workload: w}
			res.rows[secNATS] = append(res.rows[secNATS], rw)
			for _, col := range raftportCols {
				jobs = append(jobs, job{key: cellKey{secNATS, rw, col.name}, do: func(opts bench.Options) (record, error) {
					r, err := bench.Throughput(target, w, o.timing, cluster.RaftportOverNATS(col.options(opts)))
					return record{throughput: &r}, err
				}})
			}
			jobs = append(jobs,
				job{key: cellKey{secNATS, rw, colJetStream}, do: func(opts bench.Options) (record, error) {
					r, err := cluster.JetStreamThroughput(w, o.timing, opts.Timeout)
					return record{throughput: &r}, err
				}})
		}
	}
	runRounds(res, jobs, o.runs, o, base, progress)
	return nil
}

// runRounds runs every job once per round, retrying a failed run up to
// o.attempts times; each run gets a fresh directory for its logs.
func runRounds(res *results, jobs []job, rounds int, o options, base bench.Options, progress io.Writer) {
	for round := 1; round <= rounds; round++ {
		for _, j := range jobs {
			for attempt := 1; attempt <= o.attempts; attempt++ {
				rec, err := runJob(j, o.dir, base)
				rec.cellKey, rec.run, rec.attempt, rec.err = j.key, round, attempt, err
				res.order = append(res.order, rec)
				if err == nil {
					res.runs[j.key] = append(res.runs[j.key], rec)
					fmt.Fprintf(progress, "%-9s run %d/%d  %-48s %-13s %s\n", j.key.section, round, rounds, describeRow(j.key.section, j.key.row), j.key.column, headline(rec))
					break
				}
				res.errs[j.key] = append(res.errs[j.key], rec)
				fmt.Fprintf(progress, "%-9s run %d/%d  %-48s %-13s attempt %d/%d failed: %v\n", j.key.section, round, rounds, describeRow(j.key.section, j.key.row), j.key.column, attempt, o.attempts, err)
				if attempt == o.attempts {
					res.failed[j.key] = true
				}
			}
		}
	}
}

func runJob(j job, parent string, base bench.Options) (record, error) {
	dir, err := os.MkdirTemp(parent, "run-")
	if err != nil {
		return record{}, err
	}
	opts := base
	opts.Dir = dir
	rec, err := j.do(opts)
	if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
		err = rerr
	}
	return rec, err
}
