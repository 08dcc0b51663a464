package raftport

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Every wire format here is little endian and byte-for-byte the NATS
// server's, so that a capture of either implementation decodes with the
// other. Messages are written by appending their fields in order with a
// fieldWriter and read back with a fieldReader.
var wire = binary.LittleEndian

// fieldWriter appends a message's fields to buf.
type fieldWriter struct{ buf []byte }

// into starts a message of size bytes in b when b has room for it, so a
// caller can encode into a buffer it keeps, else in a new buffer.
func into(b []byte, size uint64) fieldWriter {
	if uint64(cap(b)) >= size {
		return fieldWriter{buf: b[:0]}
	}
	return fieldWriter{buf: make([]byte, 0, size)}
}

func (w *fieldWriter) u64(vs ...uint64) {
	for _, v := range vs {
		w.buf = wire.AppendUint64(w.buf, v)
	}
}

func (w *fieldWriter) u32(vs ...uint32) {
	for _, v := range vs {
		w.buf = wire.AppendUint32(w.buf, v)
	}
}

// id writes a peer ID in its idLen bytes: zero-padded when shorter (an
// unnamed leader's heartbeat leaves it all zeros), cut when longer.
func (w *fieldWriter) id(peer string) {
	at := len(w.buf)
	w.buf = append(w.buf, make([]byte, idLen)...)
	copy(w.buf[at:], peer)
}

// flags writes one byte whose bit i is set when bits[i] is true.
func (w *fieldWriter) flags(bits ...bool) {
	var b byte
	for i, on := range bits {
		if on {
			b |= 1 << i
		}
	}
	w.buf = append(w.buf, b)
}

// fieldReader takes a message's fields in order. The caller checks the
// length of fixed-size messages first; variable parts check as they go.
type fieldReader struct {
	msg []byte
	at  uint64
}

func (r *fieldReader) u64() uint64 {
	v := wire.Uint64(r.msg[r.at:])
	r.at += 8
	return v
}

func (r *fieldReader) u32() uint32 {
	v := wire.Uint32(r.msg[r.at:])
	r.at += 4
	return v
}

func (r *fieldReader) u16() uint16 {
	v := wire.Uint16(r.msg[r.at:])
	r.at += 2
	return v
}

func (r *fieldReader) id() string {
	v := string(r.msg[r.at : r.at+idLen])
	r.at += idLen
	return v
}

// flag reads bit of the current byte, without moving on.
func (r *fieldReader) flag(bit byte) bool { return r.msg[r.at]&bit != 0 }

// left is how many bytes remain.
func (r *fieldReader) left() uint64 { return uint64(len(r.msg)) - r.at }

// entry reads size[4] type[1] data[size-1], the data aliasing msg; false
// when the message ends first or the size is zero. The data's capacity
// ends with it: msg may be the transport's copy shared with other
// receivers (see transport.Handler), and an append to one entry's data
// must get a new array rather than overwrite the next entry in it.
func (r *fieldReader) entry() (*Entry, bool) {
	// Room is needed for at least the size field and a type byte.
	if r.left() <= 4 {
		return nil, false
	}
	size := uint64(r.u32())
	if size == 0 || size > r.left() {
		return nil, false
	}
	end := r.at + size
	e := newEntry(EntryType(r.msg[r.at]), r.msg[r.at+1:end:end])
	r.at += size
	return e, true
}

// encodedLen checks that ae can be encoded and returns its length:
//
//	leader[8] term[8] commit[8] pterm[8] pindex[8] count[2]
//	count × ( size[4] type[1] data[size-1] )
//	lterm (uvarint, may be absent)
//
// lterm trails the entries because older decoders stop after the last
// entry and simply ignore it.
func (ae *appendEntry) encodedLen() (uint64, error) {
	switch {
	case len(ae.leader) != idLen && len(ae.leader) != 0:
		return 0, errLeaderLen
	case len(ae.entries) > math.MaxUint16:
		return 0, errTooManyEntries
	}
	var lterm [binary.MaxVarintLen64]byte
	total := uint64(appendEntryBaseLen + binary.PutUvarint(lterm[:], ae.lterm))
	for _, e := range ae.entries {
		// MaxInt32, not MaxUint32, keeps size+1 from overflowing an int
		// on 32-bit platforms.
		if uint64(len(e.Data)) > math.MaxInt32 {
			return 0, errBadAppendEntry
		}
		total += 4 + 1 + uint64(len(e.Data))
	}
	return total, nil
}

// encode lays out an append entry (see encodedLen), in b when it has room.
func (ae *appendEntry) encode(b []byte) ([]byte, error) {
	total, err := ae.encodedLen()
	if err != nil {
		return nil, err
	}
	return ae.encodeSized(b, total), nil
}

// encodeSized is encode for a caller that already has encodedLen's total,
// to pick the memory by it.
func (ae *appendEntry) encodeSized(b []byte, total uint64) []byte {
	w := into(b, total)
	w.id(ae.leader)
	w.u64(ae.term, ae.commit, ae.pterm, ae.pindex)
	w.buf = wire.AppendUint16(w.buf, uint16(len(ae.entries)))
	for _, e := range ae.entries {
		w.u32(uint32(1 + len(e.Data)))
		w.buf = append(append(w.buf, byte(e.Type)), e.Data...)
	}
	w.buf = binary.AppendUvarint(w.buf, ae.lterm)
	return w.buf
}

// decodeAppendEntry parses msg without copying: the entries' data alias
// msg, which becomes ae.buf. msg must stay unchanged for as long as ae and
// its entries live; nothing in the node writes into it, which is what
// lets the transport hand every receiver the same bytes.
func decodeAppendEntry(msg []byte, sub transport.Subscription, reply string) (*appendEntry, error) {
	if len(msg) < appendEntryBaseLen {
		return nil, errBadAppendEntry
	}
	r := fieldReader{msg: msg}
	leader := r.id()
	term, commit, pterm, pindex := r.u64(), r.u64(), r.u64(), r.u64()
	ae := newAppendEntry(leader, term, commit, pterm, pindex, nil)
	ae.reply, ae.sub, ae.buf = reply, sub, msg
	count := uint64(r.u16())
	if count > 0 {
		// One allocation for a whole batch. The count is the sender's
		// word: no more entries fit than 5-byte headers do.
		ae.entries = make([]*Entry, 0, min(count, r.left()/5))
	}
	for ; count > 0; count-- {
		e, ok := r.entry()
		if !ok {
			ae.returnToPool()
			return nil, errBadAppendEntry
		}
		ae.entries = append(ae.entries, e)
	}
	if lterm, n := binary.Uvarint(msg[r.at:]); n > 0 {
		ae.lterm = lterm
	}
	return ae, nil
}

// newAppendEntryResponse takes a response from the pool, with no reply (a
// pooled one may still carry an old one).
func newAppendEntryResponse(term, index uint64, peer string, success bool) *appendEntryResponse {
	ar := arPool.Get().(*appendEntryResponse)
	*ar = appendEntryResponse{term: term, index: index, peer: peer, success: success}
	return ar
}

// encode lays out a response as term[8] index[8] peer[8] success[1],
// in b when it has room.
func (ar *appendEntryResponse) encode(b []byte) []byte {
	w := into(b, appendEntryResponseLen)
	w.u64(ar.term, ar.index)
	w.id(ar.peer)
	w.flags(ar.success)
	return w.buf
}

// peerIDs interns the peer IDs seen in responses: a leader decodes one
// response per follower per entry, and the same few IDs repeat forever.
var peerIDs sync.Map

func internPeerID(b []byte) string {
	if v, ok := peerIDs.Load(string(b)); ok {
		return v.(string)
	}
	id := string(b)
	peerIDs.Store(id, id)
	return id
}

// decodeAppendEntryResponse returns nil for a message of the wrong size.
func decodeAppendEntryResponse(msg []byte) *appendEntryResponse {
	if len(msg) != appendEntryResponseLen {
		return nil
	}
	r := fieldReader{msg: msg}
	term, index := r.u64(), r.u64()
	return newAppendEntryResponse(term, index, internPeerID(msg[16:16+idLen]), msg[24] == 1)
}

// shouldStore is false for heartbeats, which carry no entries and so have
// no place in the log.
func (ae *appendEntry) shouldStore() bool {
	return ae != nil && len(ae.entries) > 0
}

// peerStateBufSize is clusterSize[4] + count[4] + count×id[8] + domainExt[2].
func peerStateBufSize(ps *peerState) int {
	return 4 + 4 + idLen*len(ps.knownPeers) + 2
}

// encodePeerState lays out ps as peerStateBufSize describes.
func encodePeerState(ps *peerState) []byte {
	w := fieldWriter{buf: make([]byte, 0, peerStateBufSize(ps))}
	w.u32(uint32(ps.clusterSize), uint32(len(ps.knownPeers)))
	for _, p := range ps.knownPeers {
		w.id(p)
	}
	return wire.AppendUint16(w.buf, uint16(ps.domainExt))
}

// decodePeerState accepts a missing domain extension, which older writers
// did not emit, but not a short peer list.
func decodePeerState(buf []byte) (*peerState, error) {
	r := fieldReader{msg: buf}
	if r.left() < 8 {
		return nil, errCorruptPeers
	}
	ps := &peerState{clusterSize: int(r.u32())}
	count := uint64(r.u32())
	if count > r.left()/idLen {
		return nil, errCorruptPeers
	}
	if count > 0 {
		ps.knownPeers = make([]string, 0, count)
	}
	for range count {
		ps.knownPeers = append(ps.knownPeers, r.id())
	}
	if r.left() >= 2 {
		ps.domainExt = extensionState(r.u16())
	}
	return ps, nil
}

// encode lays out a vote request as term[8] lastTerm[8] lastIndex[8]
// candidate[8].
func (vr *voteRequest) encode() []byte {
	w := into(nil, voteRequestLen)
	w.u64(vr.term, vr.lastTerm, vr.lastIndex)
	w.id(vr.candidate)
	return w.buf
}

// decodeVoteRequest returns nil for a message of the wrong size.
func decodeVoteRequest(msg []byte, reply string) *voteRequest {
	if len(msg) != voteRequestLen {
		return nil
	}
	r := fieldReader{msg: msg}
	vr := &voteRequest{reply: reply}
	vr.term, vr.lastTerm, vr.lastIndex, vr.candidate = r.u64(), r.u64(), r.u64(), r.id()
	return vr
}

// Flag bits of a vote response's last byte, in the order fieldWriter.flags
// takes them.
const (
	voteGrantedBit = 1 << 0
	voteEmptyBit   = 1 << 1
)

// encode lays out a vote response as term[8] peer[8] flags[1].
func (vr *voteResponse) encode() []byte {
	w := into(nil, voteResponseLen)
	w.u64(vr.term)
	w.id(vr.peer)
	w.flags(vr.granted, vr.empty)
	return w.buf
}

// decodeVoteResponse returns nil for a message of the wrong size.
func decodeVoteResponse(msg []byte) *voteResponse {
	if len(msg) != voteResponseLen {
		return nil
	}
	r := fieldReader{msg: msg}
	return &voteResponse{term: r.u64(), peer: r.id(), granted: r.flag(voteGrantedBit), empty: r.flag(voteEmptyBit)}
}
