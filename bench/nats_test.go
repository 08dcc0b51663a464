package bench

import (
	"testing"
	"time"
)

// TestOverNATS runs raftport's durable mode on an embedded NATS cluster
// and a JetStream R3 stream on the same cluster, both ways, briefly.
func TestOverNATS(t *testing.T) {
	c, err := StartNATSCluster(t.TempDir(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lib, _ := LookupLibrary("raftport")
	target, _ := lib.Target(Durable)
	for _, w := range []Workload{{Proposers: 1, EntrySize: 64}, {Window: 32, EntrySize: 64}} {
		t.Run("raftport/"+w.String(), func(t *testing.T) {
			res, err := Throughput(target, w, testTiming, c.RaftportOverNATS(testOptions()))
			if err != nil {
				t.Fatal(err)
			}
			if res.LogEntries < 1 || !res.FsyncsCounted {
				t.Fatalf("implausible result %+v", res)
			}
		})
		t.Run("jetstream/"+w.String(), func(t *testing.T) {
			res, err := c.JetStreamThroughput(w, testTiming, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.LogEntries < 1 || res.LogEntries < uint64(res.Entries) || (res.Entries > 0 && res.LatencyP50 <= 0) {
				t.Fatalf("implausible result %+v", res)
			}
		})
	}
	if _, err := c.JetStreamThroughput(Workload{Proposers: 2, EntrySize: 64}, testTiming, time.Second); err == nil {
		t.Error("two synchronous JetStream publishers were accepted")
	}
}
