package raftport_test

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// The leader encodes large batches into shared blocks (batchMemory); what
// every node applies must still be exactly what was proposed, in order,
// across several blocks and after the leadership moves. Under -race, as
// the suite runs, a block written while a follower still reads it fails
// this test even where the bytes happen to come out right.
func TestLargeBatchesReachEveryNodeIntact(t *testing.T) {
	const (
		entrySize = 4096
		perBatch  = 64 // 256 KiB: carved from a block
		batches   = 12 // 3 MiB: more than one block
	)
	var mu sync.Mutex
	applied := make([][][]byte, 3)
	g := startGatedGroupApplying(t, 3, func(i int, ce *raftport.CommittedEntry) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ce.Entries {
			if e.Type == raftport.EntryNormal && len(e.Data) == entrySize {
				applied[i] = append(applied[i], bytes.Clone(e.Data))
			}
		}
	})
	var want [][]byte
	proposeFrom := func(leader int) {
		t.Helper()
		for range batches {
			entries := make([]*raftport.Entry, perBatch)
			for j := range entries {
				data := bytes.Repeat([]byte{byte(len(want))}, entrySize)
				binary.BigEndian.PutUint64(data, uint64(len(want)))
				entries[j] = &raftport.Entry{Type: raftport.EntryNormal, Data: data}
				want = append(want, data)
			}
			if err := g.nodes[leader].ProposeMulti(entries); err != nil {
				t.Fatal(err)
			}
		}
	}
	allApplied := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			done := true
			for _, a := range applied {
				done = done && len(a) >= len(want)
			}
			mu.Unlock()
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not every node applied the %d entries within 20s", len(want))
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, a := range applied {
			if len(a) != len(want) {
				t.Fatalf("node %d applied %d entries, want %d", i, len(a), len(want))
			}
			for k := range want {
				if !bytes.Equal(a[k], want[k]) {
					t.Fatalf("node %d applied entry %d as %x..., proposed %x...", i, k, a[k][:12], want[k][:12])
				}
			}
		}
	}

	proposeFrom(g.leader)
	allApplied()

	next := g.followers()[0]
	if err := g.nodes[g.leader].StepDown(g.nodes[next].ID()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !g.nodes[next].Leader() {
		if time.Now().After(deadline) {
			t.Fatalf("node %d did not take over the leadership", next)
		}
		time.Sleep(5 * time.Millisecond)
	}
	proposeFrom(next)
	allApplied()
}
