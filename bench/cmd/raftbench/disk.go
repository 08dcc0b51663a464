package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// diskProbe is how long an fsync took on the logs' file system, measured
// just before and just after the runs: the durable rows wait on it, and on
// a virtual disk it changes with the host's load from one hour to the
// next, so a reader needs it to compare two tables.
type diskProbe struct {
	One   fsyncLatency `json:"one_file"`    // one file syncing
	Three fsyncLatency `json:"three_files"` // three at once, as three nodes' logs do
	Err   string       `json:"error,omitempty"`
}

type fsyncLatency struct {
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
}

// Each file gets probeSyncs records of probeRecord bytes, each followed by
// its fsync, written over zeros already durable: the layout of an active
// WAL segment, whose fsyncs have no file size change to journal.
const (
	probeSyncs  = 300
	probeRecord = 2048
)

func probeDisk(dir string) diskProbe {
	var p diskProbe
	var err error
	if p.One, err = fsyncLatencies(dir, 1); err == nil {
		p.Three, err = fsyncLatencies(dir, 3)
	}
	if err != nil {
		p = diskProbe{Err: err.Error()}
	}
	return p
}

// fsyncLatencies syncs files files at once, probeSyncs times each, and
// gives the quantiles of all their fsyncs.
func fsyncLatencies(dir string, files int) (fsyncLatency, error) {
	took := make([][]time.Duration, files)
	errs := make([]error, files)
	var wg sync.WaitGroup
	for i := range files {
		wg.Go(func() { took[i], errs[i] = syncRecords(dir) })
	}
	wg.Wait()
	var all []time.Duration
	for i := range files {
		if errs[i] != nil {
			return fsyncLatency{}, errs[i]
		}
		all = append(all, took[i]...)
	}
	slices.Sort(all)
	return fsyncLatency{P50: all[len(all)/2], P99: all[len(all)*99/100]}, nil
}

func syncRecords(dir string) (took []time.Duration, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := os.Remove(f.Name()); err == nil {
			err = rerr
		}
	}()
	if _, err := f.WriteAt(make([]byte, probeSyncs*probeRecord), 0); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	record := make([]byte, probeRecord)
	for i := range record {
		record[i] = byte(i) | 1
	}
	took = make([]time.Duration, 0, probeSyncs)
	for i := range probeSyncs {
		if _, err := f.WriteAt(record, int64(i*probeRecord)); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			return nil, err
		}
		took = append(took, time.Since(start))
	}
	return took, nil
}

func (p diskProbe) String() string {
	if p.Err != "" {
		return "not measured: " + p.Err
	}
	us := func(d time.Duration) int64 { return d.Microseconds() }
	return fmt.Sprintf("p50 %d µs, p99 %d µs (1 file); p50 %d µs, p99 %d µs (3 files at once)",
		us(p.One.P50), us(p.One.P99), us(p.Three.P50), us(p.Three.P99))
}
