package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// replica is what one node's state machine knows. Each proposer's entries
// must arrive in the order it proposed them (proposer p's k-th entry
// carries sequence number k), so a gap, a duplicate or a reordering fails
// at once; a checksum per proposer catches altered payloads, and a
// checksum over everything in apply order shows whether two nodes applied
// the same log.
type replica struct {
	node int

	mu      sync.Mutex
	applied uint64   // workload entries applied
	order   uint32   // checksum of every payload, in apply order
	next    []uint64 // per proposer, the sequence number due
	sums    []uint32 // per proposer, the checksum of its payloads
	// restores counts snapshots installed, so a catch-up can tell how it
	// caught up.
	restores int
	// pad is how many bytes of snapshot each applied entry adds: a state
	// machine's snapshot is as large as the data it replaces, or catching
	// up from one would time the protocol but not the transfer.
	pad     int
	target  uint64
	reached chan struct{}
}

func newReplica(node, proposers, pad int) *replica {
	r := &replica{node: node, next: make([]uint64, proposers), sums: make([]uint32, proposers), pad: pad, reached: make(chan struct{})}
	close(r.reached) // a target of 0 is reached
	return r
}

// apply checks and counts one payload and returns who proposed it.
func (r *replica) apply(data []byte) (proposer int, seq uint64, err error) {
	if len(data) < headerLen {
		return 0, 0, fmt.Errorf("node %d: applied a %d-byte entry, shorter than its header", r.node, len(data))
	}
	p, seq := binary.BigEndian.Uint64(data), binary.BigEndian.Uint64(data[8:])
	r.mu.Lock()
	defer r.mu.Unlock()
	if p >= uint64(len(r.next)) {
		return 0, 0, fmt.Errorf("node %d: applied an entry of proposer %d, of %d", r.node, p, len(r.next))
	}
	if seq != r.next[p] {
		return int(p), seq, fmt.Errorf("node %d: applied entry %d of proposer %d where %d was due", r.node, seq, p, r.next[p])
	}
	r.next[p]++
	r.sums[p] = crc32.Update(r.sums[p], castagnoli, data)
	r.order = crc32.Update(r.order, castagnoli, data)
	r.applied++
	if r.applied == r.target {
		close(r.reached)
	}
	return int(p), seq, nil
}

// expect sets how many entries the replica will have applied once the
// proposals under way are done, and returns the channel closed then.
func (r *replica) expect(target uint64) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = target
	r.reached = make(chan struct{})
	if r.applied >= target {
		close(r.reached)
	}
	return r.reached
}

// count is how many entries the replica applied.
func (r *replica) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// replicaState is a copy of what a replica knows.
type replicaState struct {
	applied  uint64
	order    uint32
	next     []uint64
	sums     []uint32
	restores int
}

func (r *replica) state() replicaState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return replicaState{applied: r.applied, order: r.order, next: append([]uint64(nil), r.next...), sums: append([]uint32(nil), r.sums...), restores: r.restores}
}

// reset forgets everything, as a state machine without a snapshot does
// when its node restarts and replays the log.
func (r *replica) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied, r.order, r.restores = 0, 0, 0
	clear(r.next)
	clear(r.sums)
	r.reached = make(chan struct{})
	if r.target == 0 {
		close(r.reached)
	}
}

// snapshot encodes the replica's state: applied and order, then per
// proposer its next sequence number and checksum, then pad bytes per
// applied entry.
func (r *replica) snapshot() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	head := r.headerLen()
	buf := make([]byte, 0, head+int(r.applied)*r.pad)
	buf = binary.BigEndian.AppendUint64(buf, r.applied)
	buf = binary.BigEndian.AppendUint32(buf, r.order)
	for p := range r.next {
		buf = binary.BigEndian.AppendUint64(buf, r.next[p])
		buf = binary.BigEndian.AppendUint32(buf, r.sums[p])
	}
	return buf[:cap(buf)]
}

func (r *replica) headerLen() int { return 12 + 12*len(r.next) }

var errBadSnapshot = errors.New("bench: replica snapshot has the wrong size")

// restore replaces the replica's state with a snapshot's.
func (r *replica) restore(snap []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	head := r.headerLen()
	if len(snap) < head || uint64(len(snap)-head) != binary.BigEndian.Uint64(snap)*uint64(r.pad) {
		return errBadSnapshot
	}
	r.restores++
	r.applied = binary.BigEndian.Uint64(snap)
	r.order = binary.BigEndian.Uint32(snap[8:])
	for p, rest := 0, snap[12:]; p < len(r.next); p, rest = p+1, rest[12:] {
		r.next[p] = binary.BigEndian.Uint64(rest)
		r.sums[p] = binary.BigEndian.Uint32(rest[8:])
	}
	if r.applied >= r.target {
		select {
		case <-r.reached:
		default:
			close(r.reached)
		}
	}
	return nil
}

// newPattern is the bytes every payload of the given size starts from:
// not all zero, so that a node applying the wrong bytes changes the
// checksums.
func newPattern(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}

// payload is proposer p's entry seq: the pattern stamped with both. It is
// allocated per entry, as an application's command would be.
func payload(pattern []byte, p int, seq uint64) []byte {
	data := make([]byte, len(pattern))
	copy(data, pattern)
	binary.BigEndian.PutUint64(data, uint64(p))
	binary.BigEndian.PutUint64(data[8:], seq)
	return data
}
