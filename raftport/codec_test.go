package raftport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestAppendEntryRoundTrip(t *testing.T) {
	ae := &appendEntry{
		leader: "ABCDEFGH", term: 7, commit: 5, pterm: 6, pindex: 9, lterm: 300,
		entries: []*Entry{{EntryNormal, []byte("one")}, {EntryPeerState, nil}, {EntryAddPeer, []byte("PEER0001")}},
	}
	buf, err := ae.encode(nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	// The layout is the reference's: the base header, then size-prefixed
	// typed entries, then the uvarint lterm.
	wantLen := appendEntryBaseLen + (5 + 3) + 5 + (5 + 8) + 2
	if len(buf) != wantLen {
		t.Fatalf("encoded length %d, want %d", len(buf), wantLen)
	}
	if got := string(buf[:idLen]); got != "ABCDEFGH" {
		t.Fatalf("leader bytes %q", got)
	}
	if got := binary.LittleEndian.Uint16(buf[40:]); got != 3 {
		t.Fatalf("entry count %d, want 3", got)
	}
	if got := binary.LittleEndian.Uint32(buf[42:]); got != 4 {
		t.Fatalf("first entry size %d, want 4 (type + 3 bytes)", got)
	}
	if buf[46] != byte(EntryNormal) {
		t.Fatalf("first entry type %d", buf[46])
	}

	got, err := decodeAppendEntry(buf, nil, "reply.to")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.leader != ae.leader || got.term != 7 || got.commit != 5 || got.pterm != 6 || got.pindex != 9 || got.lterm != 300 {
		t.Fatalf("decoded header %v lterm %d", got, got.lterm)
	}
	if got.reply != "reply.to" || !bytes.Equal(got.buf, buf) {
		t.Fatalf("decoded reply %q or buf not kept", got.reply)
	}
	if len(got.entries) != 3 {
		t.Fatalf("decoded %d entries", len(got.entries))
	}
	for i, e := range ae.entries {
		if got.entries[i].Type != e.Type || !bytes.Equal(got.entries[i].Data, e.Data) {
			t.Fatalf("entry %d: got %v %q, want %v %q", i, got.entries[i].Type, got.entries[i].Data, e.Type, e.Data)
		}
	}
}

// TestAppendEntryDecodedDataEndsAtEntry: decoded entries alias the
// message, which the in-process transport shares between receivers, so an
// append to one entry's data must not spill into the next entry or into
// the message's tail.
func TestAppendEntryDecodedDataEndsAtEntry(t *testing.T) {
	ae := &appendEntry{leader: "ABCDEFGH", term: 2, lterm: 2,
		entries: []*Entry{{EntryNormal, []byte("first")}, {EntryNormal, []byte("second")}}}
	buf, err := ae.encode(nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	want := bytes.Clone(buf)
	got, err := decodeAppendEntry(buf, nil, "")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for i, e := range got.entries {
		if cap(e.Data) != len(e.Data) {
			t.Fatalf("entry %d: capacity %d beyond its %d bytes", i, cap(e.Data), len(e.Data))
		}
	}
	_ = append(got.entries[0].Data, "XXXXXXXXXX"...)
	_ = append(got.entries[1].Data, "XXXXXXXXXX"...)
	if !bytes.Equal(buf, want) {
		t.Fatalf("appending to decoded entries changed the message: %q, was %q", buf, want)
	}
}

func TestAppendEntryWithoutLtermDecodesAsZero(t *testing.T) {
	ae := &appendEntry{leader: "ABCDEFGH", term: 3, entries: []*Entry{{EntryNormal, []byte("x")}}}
	buf, err := ae.encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	// An older encoder stops after the entries.
	old := buf[:len(buf)-1]
	got, err := decodeAppendEntry(old, nil, "")
	if err != nil {
		t.Fatalf("decode without lterm: %v", err)
	}
	if got.lterm != 0 || len(got.entries) != 1 {
		t.Fatalf("lterm %d entries %d", got.lterm, len(got.entries))
	}
}

func TestAppendEntryEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		ae   *appendEntry
		want error
	}{
		{"short leader", &appendEntry{leader: "abc"}, errLeaderLen},
		{"long leader", &appendEntry{leader: "ABCDEFGHI"}, errLeaderLen},
		{"too many entries", &appendEntry{entries: make([]*Entry, math.MaxUint16+1)}, errTooManyEntries},
	}
	for _, tc := range cases {
		if _, err := tc.ae.encode(nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAppendEntryEncodeReusesBuffer(t *testing.T) {
	ae := &appendEntry{leader: "ABCDEFGH", term: 1, entries: []*Entry{{EntryNormal, []byte("data")}}}
	big := make([]byte, 128)
	buf, err := ae.encode(big)
	if err != nil {
		t.Fatal(err)
	}
	if &buf[0] != &big[0] {
		t.Fatal("a buffer with room was not reused")
	}
	small := make([]byte, 8)
	buf, err = ae.encode(small)
	if err != nil {
		t.Fatal(err)
	}
	if &buf[0] == &small[0] || small[0] != 0 {
		t.Fatal("a buffer without room was written to")
	}
}

func TestAppendEntryDecodeRejectsDamage(t *testing.T) {
	ae := &appendEntry{leader: "ABCDEFGH", term: 1, entries: []*Entry{{EntryNormal, []byte("abc")}, {EntryNormal, []byte("defg")}}}
	buf, err := ae.encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(buf)-1; cut++ {
		if _, err := decodeAppendEntry(buf[:cut], nil, ""); !errors.Is(err, errBadAppendEntry) {
			t.Fatalf("cut at %d: got %v", cut, err)
		}
	}
	zeroSize := bytes.Clone(buf)
	binary.LittleEndian.PutUint32(zeroSize[appendEntryBaseLen:], 0)
	if _, err := decodeAppendEntry(zeroSize, nil, ""); !errors.Is(err, errBadAppendEntry) {
		t.Fatalf("zero entry size: got %v", err)
	}
	hugeSize := bytes.Clone(buf)
	binary.LittleEndian.PutUint32(hugeSize[appendEntryBaseLen:], math.MaxUint32)
	if _, err := decodeAppendEntry(hugeSize, nil, ""); !errors.Is(err, errBadAppendEntry) {
		t.Fatalf("oversized entry: got %v", err)
	}
}

func TestAppendEntryResponseRoundTrip(t *testing.T) {
	for _, success := range []bool{true, false} {
		ar := newAppendEntryResponse(12, 34, "PEERAAAA", success)
		ar.reply = "stale"
		buf := ar.encode(nil)
		if len(buf) != appendEntryResponseLen {
			t.Fatalf("length %d", len(buf))
		}
		got := decodeAppendEntryResponse(buf)
		if got == nil || got.term != 12 || got.index != 34 || got.peer != "PEERAAAA" || got.success != success || got.reply != "" {
			t.Fatalf("round trip of success=%v gave %+v", success, got)
		}
	}
	if decodeAppendEntryResponse(make([]byte, appendEntryResponseLen-1)) != nil {
		t.Fatal("short response decoded")
	}
	// newAppendEntryResponse must clear a reply left on a pooled response.
	ar := newAppendEntryResponse(1, 1, "PEERAAAA", true)
	ar.reply = "old"
	arPool.Put(ar)
	if fresh := newAppendEntryResponse(2, 2, "PEERBBBB", false); fresh.reply != "" {
		t.Fatalf("pooled reply kept: %q", fresh.reply)
	}
}

func TestAppendEntryResponseEncodeReusesBuffer(t *testing.T) {
	ar := &appendEntryResponse{term: 1, index: 2, peer: "PEERAAAA", success: true}
	scratch := make([]byte, 64)
	buf := ar.encode(scratch)
	if &buf[0] != &scratch[0] || len(buf) != appendEntryResponseLen {
		t.Fatal("a buffer with room was not reused")
	}
}

func TestShouldStore(t *testing.T) {
	var nilAE *appendEntry
	if nilAE.shouldStore() {
		t.Fatal("nil append entry should not be stored")
	}
	if (&appendEntry{}).shouldStore() {
		t.Fatal("heartbeat should not be stored")
	}
	if !(&appendEntry{entries: []*Entry{{EntryNormal, nil}}}).shouldStore() {
		t.Fatal("entry with data should be stored")
	}
}

func TestPeerStateRoundTrip(t *testing.T) {
	ps := &peerState{knownPeers: []string{"AAAAAAAA", "BBBBBBBB", "CCCCCCCC"}, clusterSize: 5, domainExt: extExtended}
	buf := encodePeerState(ps)
	if len(buf) != peerStateBufSize(ps) || len(buf) != 4+4+3*idLen+2 {
		t.Fatalf("size %d", len(buf))
	}
	got, err := decodePeerState(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ps) {
		t.Fatalf("got %+v, want %+v", got, ps)
	}
	// Without the trailing domain extension, as older writers stored it.
	old, err := decodePeerState(buf[:len(buf)-2])
	if err != nil || old.domainExt != extUndetermined || len(old.knownPeers) != 3 {
		t.Fatalf("old layout: %+v %v", old, err)
	}
	if _, err := decodePeerState(buf[:7]); !errors.Is(err, errCorruptPeers) {
		t.Fatalf("short header: %v", err)
	}
	if _, err := decodePeerState(buf[:8+2*idLen+3]); !errors.Is(err, errCorruptPeers) {
		t.Fatalf("short peer list: %v", err)
	}
}

func TestVoteRequestRoundTrip(t *testing.T) {
	vr := &voteRequest{term: 9, lastTerm: 8, lastIndex: 77, candidate: "CANDIDAT"}
	buf := vr.encode()
	if len(buf) != voteRequestLen {
		t.Fatalf("length %d", len(buf))
	}
	got := decodeVoteRequest(buf, "inbox")
	want := *vr
	want.reply = "inbox"
	if got == nil || *got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if decodeVoteRequest(buf[:voteRequestLen-1], "") != nil {
		t.Fatal("short request decoded")
	}
}

func TestVoteResponseRoundTrip(t *testing.T) {
	for flags := range 4 {
		vr := &voteResponse{term: 3, peer: "VOTER001", granted: flags&1 != 0, empty: flags&2 != 0}
		buf := vr.encode()
		if len(buf) != voteResponseLen || int(buf[16]) != flags {
			t.Fatalf("flags byte %d, want %d", buf[16], flags)
		}
		if got := decodeVoteResponse(buf); got == nil || *got != *vr {
			t.Fatalf("got %+v, want %+v", got, vr)
		}
	}
	if decodeVoteResponse(make([]byte, voteResponseLen+1)) != nil {
		t.Fatal("long response decoded")
	}
}
