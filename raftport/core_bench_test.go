package raftport

import (
	"fmt"
	"slices"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// The node core's hot paths, stepped by hand on a node whose run loop
// does not run, so that every call appends to its log synchronously and
// an iteration is one step of the steady state: the log grows by one
// index, the commit follows by one, the state machine takes what
// committed. A node stores an append entry, whatever number of entries it
// carries, at one log index.

// The two other members of the benchmarks' group; the follower's leader
// is benchPeerA.
const (
	benchPeerA = "BENCHPRA"
	benchPeerB = "BENCHPRB"
)

// benchLeaderInbox is where the follower's leader takes its acks. Nobody
// listens on it: the network counts what was published there and drops it.
var benchLeaderInbox = transport.ReplyInbox("BENCHLEADERINBOX")

// benchLogBytes bounds what the in-memory log holds during a benchmark:
// past it, compactLog drops the committed part.
const benchLogBytes = 32 << 20

// benchNode is a member of a three-node group (itself, benchPeerA and
// benchPeerB) on a memory log, built as StartRaftNode builds one but not
// started, with the network its host is alone on.
func benchNode(b testing.TB) (*raft, *transport.Network) {
	b.Helper()
	s, network := hostAlone(b)
	cfg := &RaftConfig{Name: "BENCH", Store: b.TempDir(), Log: storage.NewMemWAL()}
	if err := s.BootstrapRaftNode(cfg, []string{s.ID(), benchPeerA, benchPeerB}, true); err != nil {
		b.Fatal(err)
	}
	n, err := s.initRaftNode("", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Stop)
	return n, network
}

// compactEvery is how many log indexes of msgLen bytes fit in
// benchLogBytes.
func compactEvery(msgLen int) int {
	return max(1, benchLogBytes/msgLen)
}

// compactLog drops the committed part of the log, as the upper layer's
// snapshots do on a running node; without it the memory log would hold
// every message of the run. It runs with the timer stopped: compaction is
// not the path measured.
func compactLog(b *testing.B, n *raft) {
	b.StopTimer()
	n.Lock()
	err := n.wal.Compact(n.commit)
	n.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// drainApply is the state machine's side: it takes what committed, checks
// that the entries are the benchmark's payload (an entry that lost or
// changed its data would show here) and hands them back to the pools as
// an upper layer does once it applied them. It returns how many entries
// it took.
func drainApply(b *testing.B, n *raft, size int) int {
	batch := n.apply.Pop()
	taken := 0
	for _, ce := range batch {
		if ce == nil {
			continue
		}
		for _, e := range ce.Entries {
			if e.Type != EntryNormal || len(e.Data) != size {
				b.Fatalf("applied a %v entry of %d bytes at %d, want %v of %d", e.Type, len(e.Data), ce.Index, EntryNormal, size)
			}
		}
		taken += len(ce.Entries)
		ce.ReturnToPool()
	}
	n.apply.Recycle(&batch)
	return taken
}

// setPosition rewrites, in place, the commit and previous-entry fields of
// an encoded append entry (leader[8] term[8] commit[8] pterm[8]
// pindex[8], see encodedLen), so that one encoding serves as every next
// message.
func setPosition(msg []byte, commit, pterm, pindex uint64) {
	wire.PutUint64(msg[16:], commit)
	wire.PutUint64(msg[24:], pterm)
	wire.PutUint64(msg[32:], pindex)
}

// checkSetPosition fails unless a message that setPosition rewrote
// decodes to the position it was given.
func checkSetPosition(b *testing.B, msg []byte) {
	b.Helper()
	probe := slices.Clone(msg)
	setPosition(probe, 7, 5, 6)
	ae, err := decodeAppendEntry(probe, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	if ae.leader != benchPeerA || ae.term != 1 || ae.commit != 7 || ae.pterm != 5 || ae.pindex != 6 {
		b.Fatalf("rewritten message decodes to %v", ae)
	}
	ae.returnToPool()
}

// BenchmarkProcessAppendEntry is a follower taking its leader's live
// append entries as they arrive: decoding the message, then
// processAppendEntry (the term and log checks, the store to the log, the
// apply of what the leader's commit covers, the ack built and sent).
// Each message continues the log and commits the one before it, so that
// every iteration stores one message and applies one; the state machine's
// side drains the apply queue. ns/op and allocs/op are per message,
// ns/entry per entry it carries.
func BenchmarkProcessAppendEntry(b *testing.B) {
	for _, shape := range codecBenchShapes {
		b.Run(fmt.Sprintf("entries=%d/size=%d", shape.entries, shape.size), func(b *testing.B) {
			n, network := benchNode(b)
			sub := rlocked(n, func() transport.Subscription { return n.aesub })

			// The leader's first message of term 1, for our empty log.
			ae := benchAppendEntry(shape.entries, shape.size)
			ae.leader, ae.term, ae.commit, ae.pterm, ae.pindex = benchPeerA, 1, 0, 0, 0
			first, err := ae.encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			checkSetPosition(b, first)
			// The entries of a message alias its bytes until the state
			// machine handed them back, one message later: two buffers in
			// turn keep each message whole as long as the node holds it.
			// A transport would deliver each in a buffer of its own, an
			// allocation its benchmarks count.
			bufs := [2][]byte{first, slices.Clone(first)}
			every := compactEvery(len(first))

			n.processAppendEntry(mustDecode(b, bufs[0], sub), sub)
			n.RLock()
			leader, term, pindex, commit0 := n.leader, n.term, n.pindex, n.commit
			n.RUnlock()
			if leader != benchPeerA || term != 1 || pindex != 1 || n.State() != Follower {
				b.Fatalf("after the first message: leader %q term %d last index %d state %v", leader, term, pindex, n.State())
			}
			acks0 := network.Stats(benchLeaderInbox).Sent

			next, applied := uint64(2), 0
			b.SetBytes(int64(len(first)))
			b.ReportAllocs()
			for b.Loop() {
				msg := bufs[(next-1)%2]
				setPosition(msg, next-1, 1, next-1)
				ae, err := decodeAppendEntry(msg, sub, benchLeaderInbox)
				if err != nil {
					b.Fatal(err)
				}
				n.processAppendEntry(ae, sub)
				applied += drainApply(b, n, shape.size)
				if next++; next%uint64(every) == 0 {
					compactLog(b, n)
				}
			}

			n.RLock()
			commit, pindex, cached, queued := n.commit, n.pindex, len(n.pae), n.durq.Len()
			n.RUnlock()
			acks := network.Stats(benchLeaderInbox).Sent - acks0
			switch {
			case commit-commit0 != uint64(b.N) || pindex != next-1:
				b.Fatalf("%d messages moved the commit by %d (last index %d, want %d)", b.N, commit-commit0, pindex, next-1)
			case applied != b.N*shape.entries:
				b.Fatalf("%d messages of %d entries applied %d entries", b.N, shape.entries, applied)
			case acks != uint64(b.N):
				b.Fatalf("%d messages sent %d acks", b.N, acks)
			case cached > 1 || queued != 0:
				b.Fatalf("left %d entries cached and %d answers waiting", cached, queued)
			}
			if shape.entries > 1 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*shape.entries), "ns/entry")
			}
		})
	}
}

// mustDecode decodes a message from the leader's live subscription.
func mustDecode(b *testing.B, msg []byte, sub transport.Subscription) *appendEntry {
	b.Helper()
	ae, err := decodeAppendEntry(msg, sub, benchLeaderInbox)
	if err != nil {
		b.Fatal(err)
	}
	return ae
}

// BenchmarkAckTracking is a leader with two followers committing one
// append entry at a time: sendBatch stores the batch in its log and sends
// it, then both followers' acks go through processAppendEntryResponse,
// the first of which completes the quorum and commits (the leader then
// sends a heartbeat carrying the commit, nothing else being queued), the
// second finding it committed. The state machine's side drains the apply
// queue. The proposers' side is left out: the batch's slice is reused,
// which the leader allows once it committed, and its entries come from
// the pool the state machine hands them back to. ns/op and allocs/op are
// per append entry; ns/entry per entry; msgs/op counts what the leader
// published to its followers.
func BenchmarkAckTracking(b *testing.B) {
	for _, shape := range codecBenchShapes {
		b.Run(fmt.Sprintf("entries=%d/size=%d", shape.entries, shape.size), func(b *testing.B) {
			n, network := benchNode(b)
			n.switchToCandidate()
			n.switchToLeader()
			n.RLock()
			term, index, asubj := n.term, n.pindex, n.asubj
			n.RUnlock()
			// Leading stored the term's first entry, our peer state.
			if n.State() != Leader || term != 1 || index != 1 {
				b.Fatalf("not leading term 1 with one entry: state %v term %d last index %d", n.State(), term, index)
			}
			followers := []string{benchPeerA, benchPeerB}
			ackAll := func(index uint64) {
				for _, peer := range followers {
					n.processAppendEntryResponse(newAppendEntryResponse(term, index, peer, true))
				}
			}
			ackAll(index)
			drainApply(b, n, shape.size)
			commit0 := rlocked(n, func() uint64 { return n.commit })
			if commit0 != index {
				b.Fatalf("the acks of the first entry left the commit at %d", commit0)
			}

			payload := make([]byte, shape.size)
			es := make([]*Entry, 0, shape.entries)
			msgLen, err := benchAppendEntry(shape.entries, shape.size).encodedLen()
			if err != nil {
				b.Fatal(err)
			}
			every := compactEvery(int(msgLen))
			sent0 := network.Stats(asubj).Sent
			applied := 0
			b.SetBytes(int64(msgLen))
			b.ReportAllocs()
			for b.Loop() {
				es = es[:0]
				for range shape.entries {
					es = append(es, newEntry(EntryNormal, payload))
				}
				batch := proposalBatch{entries: es}
				n.sendBatch(&batch)
				index++
				ackAll(index)
				applied += drainApply(b, n, shape.size)
				if index%uint64(every) == 0 {
					compactLog(b, n)
				}
			}

			n.RLock()
			commit, pindex, cached, pending := n.commit, n.pindex, len(n.pae), len(n.acks)
			n.RUnlock()
			sent := network.Stats(asubj).Sent - sent0
			switch {
			case n.State() != Leader:
				b.Fatalf("lost the leadership: %v", n.State())
			case commit-commit0 != uint64(b.N) || pindex != index:
				b.Fatalf("%d append entries moved the commit by %d (last index %d, want %d)", b.N, commit-commit0, pindex, index)
			case applied != b.N*shape.entries:
				b.Fatalf("%d append entries of %d entries applied %d entries", b.N, shape.entries, applied)
			case sent < uint64(b.N):
				b.Fatalf("%d append entries, %d messages sent", b.N, sent)
			case cached != 0 || pending != 0:
				b.Fatalf("left %d entries cached and acks for %d indexes", cached, pending)
			}
			b.ReportMetric(float64(sent)/float64(b.N), "msgs/op")
			if shape.entries > 1 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*shape.entries), "ns/entry")
			}
		})
	}
}
