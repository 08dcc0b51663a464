package bench

import (
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// testTiming keeps a correctness run to a fraction of a second.
var testTiming = Timing{Warmup: 50 * time.Millisecond, Measure: 200 * time.Millisecond}

// testElection is longer than the benchmark's: under -race on a loaded
// machine a leader's heartbeats can come late enough to lose it at 250ms.
const testElection = time.Second

func testOptions() Options { return Options{Timeout: 30 * time.Second, ElectionTimeout: testElection} }

// allTargets is every library in every mode it has a log for.
func allTargets(t *testing.T) []Target {
	t.Helper()
	var targets []Target
	for _, lib := range Libraries() {
		for _, mode := range Modes() {
			if target, ok := lib.Target(mode); ok {
				targets = append(targets, target)
			}
		}
	}
	if len(targets) != 5 {
		t.Fatalf("%d targets, want raftport and hashicorp in both modes and etcd in memory", len(targets))
	}
	return targets
}

// TestThroughputAppliesExactlyWhatWasProposed runs every target with
// blocking proposers and pipelined, and checks the figures are plausible;
// Throughput itself fails unless every node applied every proposer's
// entries in its order, with its payloads, in one order on all nodes.
func TestThroughputAppliesExactlyWhatWasProposed(t *testing.T) {
	for _, target := range allTargets(t) {
		for _, w := range []Workload{{Proposers: 4, EntrySize: 64}, {Window: 16, EntrySize: 100}} {
			t.Run(target.String()+"/"+w.String(), func(t *testing.T) {
				res, err := Throughput(target, w, testTiming, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				// How many entries commit in the measured span depends on
				// the machine; what must hold is that every proposal was
				// applied (Throughput checks it) and the figures agree.
				if res.LogEntries < 1 || res.Entries < 0 || res.LogEntries < uint64(res.Entries) || res.Elapsed < testTiming.Measure {
					t.Fatalf("implausible counts: %d entries in %v, %d in the log", res.Entries, res.Elapsed, res.LogEntries)
				}
				if res.Entries > 0 && (res.Mallocs == 0 || res.PeakHeap == 0 || res.LatencyP50 <= 0 || res.LatencyP99 < res.LatencyP50) {
					t.Fatalf("implausible resources: %+v", res)
				}
				perNode, counted := res.FsyncsPerEntryPerNode()
				durableRaftport := target.Library == "raftport" && target.Mode == Durable
				if counted != durableRaftport || (counted && res.Entries > 0 && perNode <= 0) {
					t.Fatalf("fsyncs per entry per node %v (counted %v) for %s", perNode, counted, target)
				}
			})
		}
	}
}

// TestSessionReplicasMatchAnIndependentCount drives a session by hand and
// recomputes each proposer's checksum from scratch.
func TestSessionReplicasMatchAnIndependentCount(t *testing.T) {
	lib, err := LookupLibrary("raftport")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := lib.Target(InMemory)
	s, err := Start(target, Options{EntrySize: 32, Proposers: 2, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	const each = 20
	for range each {
		for p := range 2 {
			if err := s.commitOne(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.awaitAll(allNodes()...); err != nil {
		t.Fatal(err)
	}
	pattern := newPattern(32)
	var order uint32
	for seq := range uint64(each) {
		for p := range 2 {
			order = crc32.Update(order, castagnoli, payload(pattern, p, seq))
		}
	}
	counts, orders := s.Applied()
	for i := range GroupSize {
		if counts[i] != 2*each || orders[i] != order {
			t.Errorf("node %d applied %d entries in order %08x, want %d in %08x", i, counts[i], orders[i], 2*each, order)
		}
	}
	if err := s.verify(allNodes()...); err != nil {
		t.Fatal(err)
	}
	// A proposal the replicas never saw must fail the check.
	s.next(s.proposers[1])
	if err := s.verify(allNodes()...); err == nil || !strings.Contains(err.Error(), "applied 40 entries, want 41") {
		t.Fatalf("verify with a lost proposal: %v", err)
	}
}

func TestFailoverCommitsOnANewLeader(t *testing.T) {
	for _, target := range allTargets(t) {
		t.Run(target.String(), func(t *testing.T) {
			d, err := Failover(target, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			// The survivors wait at least one election timeout for the
			// lost leader before one campaigns.
			if d < testElection/2 {
				t.Fatalf("a new commit %v after the leader stopped, under the election timeout", d)
			}
		})
	}
}

func TestCatchupFromLogAndFromSnapshot(t *testing.T) {
	for _, target := range allTargets(t) {
		for _, fromSnapshot := range []bool{false, true} {
			name := target.String() + "/log"
			if fromSnapshot {
				name = target.String() + "/snapshot"
			}
			t.Run(name, func(t *testing.T) {
				// More than hashicorp's TrailingLogs, so its snapshot
				// really leaves the follower behind the log.
				const behind = 1500
				res, err := Catchup(target, behind, 64, fromSnapshot, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				if res.Behind != behind || res.Elapsed <= 0 || res.FromSnapshot != fromSnapshot {
					t.Fatalf("implausible result %+v", res)
				}
			})
		}
	}
}

func TestWorkloadValidate(t *testing.T) {
	for _, tc := range []struct {
		w    Workload
		want string
	}{
		{Workload{Proposers: -1, EntrySize: 64}, "proposers must be within"},
		{Workload{EntrySize: 64}, "needs a window"},
		{Workload{Window: MaxWindow + 1, EntrySize: 64}, "needs a window"},
		{Workload{Proposers: 2, Window: 4, EntrySize: 64}, "window is for the pipelined mode only"},
		{Workload{Proposers: 1, EntrySize: MinEntrySize - 1}, "entry size must be at least 16"},
		{Workload{Proposers: 1, EntrySize: MaxEntrySize + 1}, "entry size must be at most"},
	} {
		err := tc.w.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.w, err, tc.want)
		}
	}
	if err := (Workload{Proposers: 1, EntrySize: MinEntrySize}).Validate(); err != nil {
		t.Errorf("smallest valid workload refused: %v", err)
	}
	lib, _ := LookupLibrary("etcd")
	target, _ := lib.Target(InMemory)
	if _, err := Throughput(target, Workload{Proposers: 1, EntrySize: 64}, Timing{}, testOptions()); err == nil {
		t.Error("a zero measured span was accepted")
	}
}

func TestLibraries(t *testing.T) {
	for _, lib := range Libraries() {
		got, err := LookupLibrary(lib.Name)
		if err != nil || got.Name != lib.Name {
			t.Errorf("LookupLibrary(%q) = %q, %v", lib.Name, got.Name, err)
		}
	}
	if _, err := LookupLibrary("zookeeper"); err == nil || !strings.Contains(err.Error(), `unknown library "zookeeper"`) {
		t.Errorf("LookupLibrary of an unknown name: %v", err)
	}
	etcd, _ := LookupLibrary("etcd")
	if _, ok := etcd.Target(Durable); ok {
		t.Error("etcd raft has no durable log, yet a durable target")
	}
}
