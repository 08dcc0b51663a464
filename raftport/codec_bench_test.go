package raftport

import (
	"fmt"
	"testing"
)

// codecBenchShapes are append entries as the benchmark harness sends them:
// one entry (a waiting client) or 64 (a batch of 64 proposers), of 64 B
// or 4 KiB.
var codecBenchShapes = []struct{ entries, size int }{{1, 64}, {64, 64}, {1, 4096}, {64, 4096}}

func benchAppendEntry(entries, size int) *appendEntry {
	es := make([]*Entry, entries)
	for i := range es {
		es[i] = &Entry{Type: EntryNormal, Data: make([]byte, size)}
	}
	return &appendEntry{leader: "ABCDEFGH", term: 3, commit: 1000, pterm: 3, pindex: 1000, entries: es}
}

// BenchmarkAppendEntryEncode encodes into a buffer kept between calls, as
// a sender that reuses its buffer does. ns/op and allocs/op are per
// message.
func BenchmarkAppendEntryEncode(b *testing.B) {
	for _, shape := range codecBenchShapes {
		b.Run(fmt.Sprintf("entries=%d/size=%d", shape.entries, shape.size), func(b *testing.B) {
			ae := benchAppendEntry(shape.entries, shape.size)
			buf, err := ae.encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = ae.encode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendEntryDecode decodes a received message and hands the
// message and its entries back to their pools, as a follower does once
// it stored them: what is left per message is the decoder's own cost.
func BenchmarkAppendEntryDecode(b *testing.B) {
	for _, shape := range codecBenchShapes {
		b.Run(fmt.Sprintf("entries=%d/size=%d", shape.entries, shape.size), func(b *testing.B) {
			msg, err := benchAppendEntry(shape.entries, shape.size).encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				ae, err := decodeAppendEntry(msg, nil, "")
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range ae.entries {
					e.Type, e.Data = 0, nil
					entryPool.Put(e)
				}
				ae.returnToPool()
			}
		})
	}
}

// BenchmarkAppendEntryResponseRoundTrip is the ack path: a follower
// encodes its response, the leader decodes it.
func BenchmarkAppendEntryResponseRoundTrip(b *testing.B) {
	ar := newAppendEntryResponse(3, 1000, "ABCDEFGH", true)
	buf := ar.encode(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = ar.encode(buf[:0])
		got := decodeAppendEntryResponse(buf)
		if got.index != 1000 {
			b.Fatalf("decoded index %d", got.index)
		}
		arPool.Put(got)
	}
}
