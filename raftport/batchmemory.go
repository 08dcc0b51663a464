package raftport

import (
	"os"
	"sync"
)

// batchMemory is where the leader encodes its large proposal batches.
//
// An encoded batch is what the log keeps (an in-memory log keeps it for
// good, the file log caches it) and what every follower in the process
// reads, so each one is fresh memory. The first write to a fresh page
// traps into the kernel, which clears the page; at 4 KiB entries and 64
// proposers those traps were the larger part of the leader goroutine's
// encoding, on the path of every commit. Batches are therefore carved out
// of blocks whose pages a helper goroutine has written once already,
// which moves the traps off the leader, onto whichever core is idle.
//
// Small batches come from the allocator as before: their memory is
// mostly reused, and a node that only ever sends them holds no block.
// Nor does a leader whose large batches stopped: a heartbeat interval
// without one drops the blocks (releaseIfIdle), which matters to a host
// of many groups that each saw a burst once.
// The fields are the leader's: the caller holds the node lock.
type batchMemory struct {
	rest    []byte      // what is left of the block being carved
	ready   chan []byte // the next block, once its pages are touched
	filling bool        // a helper is touching the next block
	carved  bool        // something was carved since releaseIfIdle last ran
}

const (
	// batchBlockBytes is the size of one block. It holds several of the
	// largest batches (maxProposalBatchBytes and their headers), so the
	// unused tail of a block stays small next to it.
	batchBlockBytes = 2 << 20
	// carveFromBytes is the smallest batch carved from a block.
	carveFromBytes = 16 << 10
	// carveUpToBytes is the largest one; anything larger is allocated.
	carveUpToBytes = batchBlockBytes / 4
)

// pageBytes is the span one write faults in.
var pageBytes = os.Getpagesize()

// take returns an empty slice with room for exactly size bytes, carved
// from a block, or nil when size is out of the carved range (the caller
// allocates). Carved slices never overlap, and their capacity ends where
// the next one begins, so appending to one cannot reach another. The
// helper that prepares the next block is counted in wg.
func (m *batchMemory) take(size uint64, wg *sync.WaitGroup) []byte {
	if size < carveFromBytes || size > carveUpToBytes {
		return nil
	}
	if uint64(len(m.rest)) < size {
		m.rest = m.nextBlock()
		m.prepare(wg)
	}
	b := m.rest[:0:size]
	m.rest = m.rest[size:]
	m.carved = true
	return b
}

// nextBlock is the block a helper prepared, or a fresh one when none is
// ready yet (its pages then fault on the leader, as without blocks).
func (m *batchMemory) nextBlock() []byte {
	if m.filling {
		select {
		case b := <-m.ready:
			m.filling = false
			return b
		default:
		}
	}
	return make([]byte, batchBlockBytes)
}

// prepare starts a helper touching the block after this one, unless one
// is at it already.
func (m *batchMemory) prepare(wg *sync.WaitGroup) {
	if m.filling {
		return
	}
	if m.ready == nil {
		m.ready = make(chan []byte, 1)
	}
	m.filling = true
	ready := m.ready
	wg.Add(1)
	go func() {
		defer wg.Done()
		ready <- touchedBlock(batchBlockBytes)
	}()
}

// release drops the blocks, for a node that stops leading (a follower
// encodes no batches) or whose large batches stopped. A helper still at work hands its block to a channel
// nobody reads any more, and both are collected once it is done.
func (m *batchMemory) release() {
	*m = batchMemory{}
}

// releaseIfIdle drops the blocks unless something was carved since its
// last call. The leader calls it once per heartbeat interval.
func (m *batchMemory) releaseIfIdle() {
	if !m.carved {
		m.release()
		return
	}
	m.carved = false
}

// touchedBlock allocates size bytes and writes one byte of every page,
// so that the kernel backs them all before anybody encodes into them.
func touchedBlock(size int) []byte {
	b := make([]byte, size)
	for i := 0; i < len(b); i += pageBytes {
		b[i] = 0
	}
	return b
}
