package raftport

// Fuzz targets for every decoder of the node's wire and file formats. They
// call the decoders by their reference names, not through the test window, so they
// keep working while the exported helpers change. Each checks more than
// "no panic": what decodes must re-encode to the bytes it came from (up to
// the parts a decoder documents as ignored), and what does not must be
// refused with the decoder's own error. `go test` runs the f.Add seeds and
// testdata/fuzz; `go test -fuzz FuzzX -run '^$' .` explores further.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc64"
	"os"
	"path/filepath"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// seedAppendEntries are well-formed append entries as a leader sends them:
// a heartbeat, entries of every type, a catchup entry carrying lterm.
func seedAppendEntries(tb testing.TB) [][]byte {
	tb.Helper()
	aes := []*appendEntry{
		{leader: "S1Nunr6R", term: 1},
		{leader: "S1Nunr6R", term: 3, commit: 2, pterm: 2, pindex: 7, entries: []*Entry{{EntryNormal, []byte("hello")}}},
		{leader: "S1Nunr6R", term: 9, commit: 8, pterm: 9, pindex: 8, lterm: 1 << 40, entries: []*Entry{
			{EntrySnapshot, []byte("state")},
			{EntryPeerState, encodePeerState(&peerState{knownPeers: []string{"S1Nunr6R", "yrzKKRBu"}, clusterSize: 2, domainExt: extExtended})},
		}},
		{leader: "yrzKKRBu", term: 4, pindex: 1, entries: []*Entry{
			{EntryAddPeer, []byte("cnrtt3eg")}, {EntryRemovePeer, []byte("S1Nunr6R")}, {EntryLeaderTransfer, []byte("yrzKKRBu")}, {EntryNormal, nil},
		}},
	}
	var out [][]byte
	for _, ae := range aes {
		buf, err := ae.encode(nil)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, buf)
	}
	return out
}

func FuzzDecodeAppendEntry(f *testing.F) {
	for _, buf := range seedAppendEntries(f) {
		f.Add(buf)
		f.Add(buf[:len(buf)-1])
	}
	f.Add([]byte{})
	f.Add(make([]byte, appendEntryBaseLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		ae, err := decodeAppendEntry(bytes.Clone(data), nil, "")
		if err != nil {
			if !errors.Is(err, errBadAppendEntry) || ae != nil {
				t.Fatalf("refused with %v and %v, want only errBadAppendEntry", ae, err)
			}
			return
		}
		enc, err := ae.encode(nil)
		if err != nil {
			t.Fatalf("a decoded append entry does not encode: %v", err)
		}
		// Header and entries are read exactly; the trailing lterm is read
		// as a uvarint and whatever follows it is ignored, as older
		// decoders ignore lterm itself.
		var lterm [binary.MaxVarintLen64]byte
		body := len(enc) - binary.PutUvarint(lterm[:], ae.lterm)
		if body > len(data) || !bytes.Equal(enc[:body], data[:body]) {
			t.Fatalf("re-encoding differs from the input:\n in %x\nout %x", data, enc)
		}
		if ae.lterm != 0 {
			if got, n := binary.Uvarint(data[body:]); n <= 0 || got != ae.lterm {
				t.Fatalf("lterm %d decoded from %x", ae.lterm, data[body:])
			}
		}
		again, err := decodeAppendEntry(bytes.Clone(enc), nil, "")
		if err != nil {
			t.Fatalf("re-encoded append entry refused: %v", err)
		}
		enc2, err := again.encode(nil)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("decode and encode are not a fixed point: %x then %x (%v)", enc, enc2, err)
		}
	})
}

func FuzzDecodeAppendEntryResponse(f *testing.F) {
	for _, ar := range []*appendEntryResponse{
		{term: 3, index: 7, peer: "S1Nunr6R", success: true},
		{term: 1 << 60, index: 0, peer: "yrzKKRBu"},
	} {
		f.Add(ar.encode(nil))
	}
	f.Add(make([]byte, appendEntryResponseLen-1))
	f.Add(make([]byte, appendEntryResponseLen+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var peer string
		if len(data) == appendEntryResponseLen {
			peer = string(data[16 : 16+idLen])
		}
		_, interned := peerIDs.Load(peer)
		ar := decodeAppendEntryResponse(bytes.Clone(data))
		if !interned {
			// Keep the fuzzer's millions of peer IDs out of the process-wide
			// table; a real leader sees only its group's few.
			peerIDs.Delete(peer)
		}
		if (ar == nil) != (len(data) != appendEntryResponseLen) {
			t.Fatalf("%d bytes decoded to %v; only exactly %d may decode", len(data), ar, appendEntryResponseLen)
		}
		if ar == nil {
			return
		}
		defer arPool.Put(ar)
		// Only 1 means success, as in the reference; any other byte is a
		// refusal, written back as 0.
		want := bytes.Clone(data)
		if want[24] != 1 {
			want[24] = 0
		}
		if got := ar.encode(nil); !bytes.Equal(got, want) {
			t.Fatalf("re-encoding %x, want %x", got, want)
		}
	})
}

func FuzzDecodeVoteRequest(f *testing.F) {
	f.Add((&voteRequest{term: 5, lastTerm: 4, lastIndex: 99, candidate: "S1Nunr6R"}).encode())
	f.Add(make([]byte, voteRequestLen-1))
	f.Fuzz(func(t *testing.T, data []byte) {
		vr := decodeVoteRequest(bytes.Clone(data), "inbox")
		if (vr == nil) != (len(data) != voteRequestLen) {
			t.Fatalf("%d bytes decoded to %+v; only exactly %d may decode", len(data), vr, voteRequestLen)
		}
		if vr == nil {
			return
		}
		if got := vr.encode(); !bytes.Equal(got, data) || vr.reply != "inbox" {
			t.Fatalf("re-encoding %x (reply %q), want %x", got, vr.reply, data)
		}
	})
}

func FuzzDecodeVoteResponse(f *testing.F) {
	for _, vr := range []*voteResponse{
		{term: 5, peer: "S1Nunr6R", granted: true},
		{term: 6, peer: "yrzKKRBu", empty: true},
	} {
		f.Add(vr.encode())
	}
	f.Add(make([]byte, voteResponseLen+1))
	f.Fuzz(func(t *testing.T, data []byte) {
		vr := decodeVoteResponse(bytes.Clone(data))
		if (vr == nil) != (len(data) != voteResponseLen) {
			t.Fatalf("%d bytes decoded to %+v; only exactly %d may decode", len(data), vr, voteResponseLen)
		}
		if vr == nil {
			return
		}
		// Flag bits other than granted and empty are ignored.
		want := bytes.Clone(data)
		want[16] &= voteGrantedBit | voteEmptyBit
		if got := vr.encode(); !bytes.Equal(got, want) {
			t.Fatalf("re-encoding %x, want %x", got, want)
		}
	})
}

func seedPeerStates() [][]byte {
	return [][]byte{
		encodePeerState(&peerState{knownPeers: []string{"S1Nunr6R", "yrzKKRBu", "cnrtt3eg"}, clusterSize: 3, domainExt: extNotExtended}),
		encodePeerState(&peerState{clusterSize: 5}),
	}
}

// checkPeerState checks a decoded peer state against the bytes it came
// from: the count and the IDs are read exactly, the two-byte domain
// extension may be missing (older writers) and anything after it is
// ignored.
func checkPeerState(t *testing.T, data []byte, ps *peerState, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, errCorruptPeers) || ps != nil {
			t.Fatalf("refused with %v and %v, want only errCorruptPeers", ps, err)
		}
		if len(data) >= 8 && int(binary.LittleEndian.Uint32(data[4:])) <= (len(data)-8)/idLen {
			t.Fatalf("refused %x although it holds every peer it announces", data)
		}
		return
	}
	enc := encodePeerState(ps)
	body := len(enc) - 2
	if body > len(data) || !bytes.Equal(enc[:body], data[:body]) {
		t.Fatalf("re-encoding differs from the input:\n in %x\nout %x", data, enc)
	}
	ext := data[body:]
	if len(ext) < 2 {
		ext = []byte{0, 0}
	}
	if !bytes.Equal(enc[body:], ext[:2]) {
		t.Fatalf("domain extension re-encoded as %x from %x", enc[body:], data[body:])
	}
}

func FuzzDecodePeerState(f *testing.F) {
	for _, buf := range seedPeerStates() {
		f.Add(buf)
		f.Add(buf[:len(buf)-2])
	}
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := decodePeerState(bytes.Clone(data))
		checkPeerState(t, data, ps, err)
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	snap := &snapshot{lastTerm: 3, lastIndex: 100, peerstate: seedPeerStates()[0], data: []byte("state machine")}
	enc := new(raft).encodeSnapshot(snap)
	body := enc[:len(enc)-snapChecksumLen]
	f.Add(body, true)
	f.Add(enc, false)
	f.Add(body[:19], true)
	f.Fuzz(func(t *testing.T, data []byte, fixChecksum bool) {
		// A random input almost never carries a good checksum; fixing it
		// lets the fuzzer explore the layout behind it too.
		if fixChecksum {
			data = binary.LittleEndian.AppendUint64(bytes.Clone(data), crc64.Checksum(data, snapCRC))
		}
		snap, err := decodeSnapshot(bytes.Clone(data))
		if err != nil {
			if !errors.Is(err, errSnapshotCorrupt) || snap != nil {
				t.Fatalf("refused with %v and %v, want only errSnapshotCorrupt", snap, err)
			}
			return
		}
		if got := new(raft).encodeSnapshot(snap); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs from the input:\n in %x\nout %x", data, got)
		}
	})
}

// stateFileDir is one directory per fuzz worker for the state files; the
// files are rewritten on every input.
func stateFileDir(f *testing.F) string {
	if dir := "/dev/shm"; isDir(dir) {
		d, err := os.MkdirTemp(dir, "raftport-fuzz-")
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return f.TempDir()
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// writeStateFile puts data at path either as the node writes it (inside
// storage's checksummed container) or raw, as damage would leave it.
func writeStateFile(t *testing.T, path string, data []byte, raw bool) {
	t.Helper()
	var err error
	if raw {
		err = os.WriteFile(path, data, 0o644)
	} else {
		err = storage.WriteFileAtomic(storage.OSFS{}, path, data)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzReadTermVote(f *testing.F) {
	f.Add([]byte("\x07\x00\x00\x00\x00\x00\x00\x00S1Nunr6R"), false)
	f.Add([]byte("\x07\x00\x00\x00\x00\x00\x00\x00"), false)
	f.Add([]byte{}, false)
	f.Add([]byte("\x07\x00\x00\x00\x00\x00\x00\x00S1Nunr6R\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true)
	sd := stateFileDir(f)
	n := &raft{sd: sd}
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		writeStateFile(t, filepath.Join(sd, termVoteFile), data, raw)
		term, vote, err := n.readTermVote()
		if err != nil {
			if !raw || !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("tav.idx refused with %v", err)
			}
			return
		}
		payload := data
		if raw {
			// It passed the container's checks, so it is a container.
			payload = data[:len(data)-12]
		}
		var wantTerm uint64
		var wantVote string
		if len(payload) >= termLen {
			wantTerm = binary.LittleEndian.Uint64(payload)
		}
		if len(payload) >= termVoteLen {
			wantVote = string(payload[termLen:termVoteLen])
		}
		if term != wantTerm || vote != wantVote {
			t.Fatalf("tav.idx payload %x read as term %d vote %q, want %d %q", payload, term, vote, wantTerm, wantVote)
		}
	})
}

func FuzzReadPeerState(f *testing.F) {
	for _, buf := range seedPeerStates() {
		f.Add(buf, false)
	}
	f.Add([]byte("\x03\x00\x00\x00\x09\x00\x00\x00"), false)
	f.Add(make([]byte, 20), true)
	sd := stateFileDir(f)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		writeStateFile(t, filepath.Join(sd, peerStateFile), data, raw)
		ps, err := readPeerState(sd)
		if raw {
			if errors.Is(err, storage.ErrCorrupt) {
				return
			}
			// It passed the container's checks, so it is a container.
			data = data[:len(data)-12]
		}
		checkPeerState(t, data, ps, err)
	})
}
