package transport

import "testing"

// TestInprocSetPartitionReplaces: SetPartition drops the cuts in force,
// isolation included, and draws only its own; a node in no group bridges
// the sides; no groups heals.
func TestInprocSetPartitionReplaces(t *testing.T) {
	n := newTestNetwork(t, NetworkOptions{})
	conns, recs := cluster(t, n, VoteSubject("g"), "a", "b", "c")
	n.Isolate("c")
	n.Partition([]string{"a"}, []string{"b"})

	n.SetPartition([]string{"a"}, []string{"c"})
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("a1"))
	mustPublish(t, conns["c"], VoteSubject("g"), "", []byte("c1"))
	waitIdle(t, n)
	if got := recs["b"].data(); !equalStrings(got, []string{"a1", "c1"}) {
		t.Fatalf("bridge b got %v, want a1 and c1: the old cuts must be gone", got)
	}
	if got := recs["a"].data(); !equalStrings(got, []string{"a1"}) {
		t.Fatalf("a got %v, want only its own message", got)
	}
	if got := recs["c"].data(); !equalStrings(got, []string{"c1"}) {
		t.Fatalf("c got %v, want only its own message", got)
	}

	n.SetPartition()
	mustPublish(t, conns["a"], VoteSubject("g"), "", []byte("a2"))
	waitIdle(t, n)
	if got := recs["c"].data(); !equalStrings(got, []string{"c1", "a2"}) {
		t.Fatalf("after SetPartition() c got %v, want a2 too", got)
	}
}
