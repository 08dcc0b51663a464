package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// replica is what one node's state machine knows: how many workload
// entries it applied and a running checksum of their payloads in apply
// order. Entry k must carry sequence number k, so a gap, a duplicate or a
// reordering fails at once; the checksum catches altered payloads.
type replica struct {
	node int

	mu      sync.Mutex
	applied uint64
	crc     uint32
	target  uint64
	reached chan struct{}
}

func newReplica(node int) *replica {
	r := &replica{node: node, reached: make(chan struct{})}
	close(r.reached) // a target of 0 is reached
	return r
}

// apply checks and counts one payload and returns its sequence number.
func (r *replica) apply(data []byte) (uint64, error) {
	if len(data) < MinEntrySize {
		return 0, fmt.Errorf("node %d: applied a %d-byte entry, shorter than its sequence number", r.node, len(data))
	}
	seq := binary.BigEndian.Uint64(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq != r.applied {
		return seq, fmt.Errorf("node %d: applied entry %d where %d was due", r.node, seq, r.applied)
	}
	r.applied++
	r.crc = crc32.Update(r.crc, castagnoli, data)
	if r.applied == r.target {
		close(r.reached)
	}
	return seq, nil
}

// expect sets how many entries the replica will have applied once the
// next Replicate is done, and returns the channel closed at that point.
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

func (r *replica) state() (applied uint64, crc uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied, r.crc
}

// snapshotLen is the encoded size of a replica's state.
const snapshotLen = 12

// snapshot encodes the replica's state, for implementations that ask the
// state machine for one.
func (r *replica) snapshot() []byte {
	applied, crc := r.state()
	buf := binary.BigEndian.AppendUint64(make([]byte, 0, snapshotLen), applied)
	return binary.BigEndian.AppendUint32(buf, crc)
}

var errBadSnapshot = errors.New("bench: replica snapshot is not 12 bytes")

// restore replaces the replica's state with a snapshot's.
func (r *replica) restore(snap []byte) error {
	if len(snap) != snapshotLen {
		return errBadSnapshot
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = binary.BigEndian.Uint64(snap)
	r.crc = binary.BigEndian.Uint32(snap[8:])
	if r.applied >= r.target {
		select {
		case <-r.reached:
		default:
			close(r.reached)
		}
	}
	return nil
}
