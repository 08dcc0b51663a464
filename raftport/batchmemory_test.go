package raftport

import (
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestBatchMemoryCarvesOnlyLargeBatches(t *testing.T) {
	for _, tc := range []struct {
		size   uint64
		carved bool
	}{
		{0, false},
		{carveFromBytes - 1, false},
		{carveFromBytes, true},
		{maxProposalBatchBytes + 64<<10, true},
		{carveUpToBytes, true},
		{carveUpToBytes + 1, false},
	} {
		var m batchMemory
		var wg sync.WaitGroup
		b := m.take(tc.size, &wg)
		wg.Wait()
		if carved := b != nil; carved != tc.carved {
			t.Errorf("take(%d) carved %v, want %v", tc.size, carved, tc.carved)
		}
		if b != nil && (len(b) != 0 || uint64(cap(b)) != tc.size) {
			t.Errorf("take(%d) gave len %d cap %d, want an empty slice with room for exactly that", tc.size, len(b), cap(b))
		}
	}
}

// Appending to a carved slice beyond its size must never reach the next
// one: each is an entry the log keeps and followers read.
func TestBatchMemorySlicesNeverOverlap(t *testing.T) {
	var m batchMemory
	var wg sync.WaitGroup
	defer wg.Wait()
	const size = carveFromBytes + 100
	a := m.take(size, &wg)
	b := m.take(size, &wg)
	a = append(a, make([]byte, size)...)
	b = append(b, make([]byte, size)...)
	for i := range b {
		b[i] = 0xb
	}
	endOfA := uintptr(unsafe.Pointer(&a[len(a)-1]))
	if start := uintptr(unsafe.Pointer(&b[0])); start <= endOfA {
		t.Fatalf("the second slice starts at %#x, inside the first, which ends at %#x", start, endOfA)
	}
	_ = append(a, 0xa)
	for i, v := range b {
		if v != 0xb {
			t.Fatalf("appending to the first slice wrote byte %d of the second", i)
		}
	}
}

func TestBatchMemoryUsesTheBlockItsHelperPrepared(t *testing.T) {
	var m batchMemory
	var wg sync.WaitGroup
	defer wg.Wait()
	const size = carveUpToBytes
	m.take(size, &wg)
	if !m.filling {
		t.Fatal("no helper was preparing the next block after the first one was taken")
	}
	wg.Wait()
	if len(m.ready) != 1 {
		t.Fatalf("%d blocks ready after the helper finished, want 1", len(m.ready))
	}
	for range batchBlockBytes/size - 1 {
		m.take(size, &wg)
	}
	if len(m.ready) != 1 {
		t.Fatal("the prepared block was taken before the current one was used up")
	}
	m.take(size, &wg)
	if len(m.ready) != 0 || !m.filling {
		t.Fatalf("after the first block ran out: %d blocks ready (want 0, taken), helper at work %v (want true)", len(m.ready), m.filling)
	}
}

func TestBatchMemoryReleaseLeavesNoBlockAndNoBlockedHelper(t *testing.T) {
	var m batchMemory
	var wg sync.WaitGroup
	m.take(carveFromBytes, &wg)
	m.release()
	if m.rest != nil || m.ready != nil || m.filling {
		t.Fatalf("a released batchMemory still holds %d bytes, ready %v, filling %v", len(m.rest), m.ready != nil, m.filling)
	}
	// The helper started before the release must finish on its own.
	wg.Wait()
	if b := m.take(carveFromBytes, &wg); b == nil {
		t.Fatal("nothing carved after a release")
	}
	wg.Wait()
}

func TestBatchMemoryReleasedAfterAnIdleInterval(t *testing.T) {
	var m batchMemory
	var wg sync.WaitGroup
	defer wg.Wait()
	m.take(carveFromBytes, &wg)
	m.releaseIfIdle()
	if m.rest == nil {
		t.Fatal("blocks dropped in the interval something was carved in")
	}
	m.take(carveFromBytes, &wg)
	m.releaseIfIdle()
	if m.rest == nil {
		t.Fatal("blocks dropped although something was carved since the last interval")
	}
	m.releaseIfIdle()
	if m.rest != nil || m.ready != nil || m.filling {
		t.Fatal("blocks kept through an interval in which nothing was carved")
	}
	// Small batches are not carved, so they do not keep blocks alive.
	m.take(carveFromBytes, &wg)
	m.releaseIfIdle()
	m.take(carveFromBytes-1, &wg)
	m.releaseIfIdle()
	if m.rest != nil {
		t.Fatal("a small batch kept the blocks")
	}
}

func TestTouchedBlockIsZero(t *testing.T) {
	b := touchedBlock(4*pageBytes + 1)
	if len(b) != 4*pageBytes+1 {
		t.Fatalf("%d bytes, want %d", len(b), 4*pageBytes+1)
	}
	for i, v := range b {
		if v != 0 {
			t.Fatalf("byte %d is %#x", i, v)
		}
	}
}

// The leader's loop drops its blocks at the second heartbeat tick after
// its last large batch: the first finds the interval busy.
func TestLeaderDropsBatchMemoryAfterAnIdleHeartbeat(t *testing.T) {
	n, _ := benchNode(t)
	n.switchToCandidate()
	n.switchToLeader()
	entries := make([]*Entry, 8)
	for i := range entries {
		entries[i] = newEntry(EntryNormal, make([]byte, 4096))
	}
	n.sendBatch(&proposalBatch{entries: entries})
	held := func() bool { return rlocked(n, func() bool { return n.batches.rest != nil }) }
	if !held() {
		t.Fatal("a 32 KiB batch was not carved from a block")
	}
	tick := make(chan time.Time, 1)
	beat := func() {
		t.Helper()
		tick <- time.Now()
		for len(tick) > 0 {
			if !n.leaderStep(tick, nil) {
				t.Fatal("the leader loop ended")
			}
		}
	}
	beat()
	if !held() {
		t.Fatal("blocks dropped at the first heartbeat after a large batch")
	}
	beat()
	if held() {
		t.Fatal("blocks kept through a heartbeat interval without a large batch")
	}
}
