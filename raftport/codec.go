package raftport

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Every wire format here is little endian and byte-for-byte the NATS
// server's, so that a capture of either implementation decodes with the
// other.
var wire = binary.LittleEndian

// encode lays out an append entry as
//
//	leader[8] term[8] commit[8] pterm[8] pindex[8] count[2]
//	count × ( size[4] type[1] data[size-1] )
//	lterm (uvarint, may be absent)
//
// lterm trails the entries because older decoders stop after the last
// entry and simply ignore it. b is reused when it has room for the whole
// message, so a caller can encode into a buffer it keeps.
func (ae *appendEntry) encode(b []byte) ([]byte, error) {
	if ll := len(ae.leader); ll != idLen && ll != 0 {
		return nil, errLeaderLen
	}
	if len(ae.entries) > math.MaxUint16 {
		return nil, errTooManyEntries
	}
	var entriesLen uint64
	for _, e := range ae.entries {
		// MaxInt32, not MaxUint32, keeps size+1 from overflowing an int on
		// 32-bit platforms.
		dl := uint64(len(e.Data))
		if dl > math.MaxInt32 {
			return nil, errBadAppendEntry
		}
		entriesLen += 4 + 1 + dl
	}
	var ltermBuf [binary.MaxVarintLen64]byte
	lterm := ltermBuf[:binary.PutUvarint(ltermBuf[:], ae.lterm)]
	total := uint64(appendEntryBaseLen) + entriesLen + uint64(len(lterm))

	var buf []byte
	if uint64(cap(b)) >= total {
		buf = b[:idLen]
	} else {
		buf = make([]byte, idLen, total)
	}
	// A heartbeat from an unnamed leader leaves the id zeroed.
	clear(buf)
	copy(buf, ae.leader)
	buf = wire.AppendUint64(buf, ae.term)
	buf = wire.AppendUint64(buf, ae.commit)
	buf = wire.AppendUint64(buf, ae.pterm)
	buf = wire.AppendUint64(buf, ae.pindex)
	buf = wire.AppendUint16(buf, uint16(len(ae.entries)))
	for _, e := range ae.entries {
		buf = wire.AppendUint32(buf, uint32(1+len(e.Data)))
		buf = append(buf, byte(e.Type))
		buf = append(buf, e.Data...)
	}
	return append(buf, lterm...), nil
}

// decodeAppendEntry parses msg without copying: the entries' data alias
// msg, which becomes ae.buf, so msg must not be reused by the caller.
func decodeAppendEntry(msg []byte, sub transport.Subscription, reply string) (*appendEntry, error) {
	if len(msg) < appendEntryBaseLen {
		return nil, errBadAppendEntry
	}
	ae := newAppendEntry(string(msg[:idLen]), wire.Uint64(msg[8:]), wire.Uint64(msg[16:]),
		wire.Uint64(msg[24:]), wire.Uint64(msg[32:]), nil)
	ae.reply, ae.sub = reply, sub

	count := int(wire.Uint16(msg[40:]))
	ri, end := uint64(appendEntryBaseLen), uint64(len(msg))
	for range count {
		// Room is needed for at least the size field and a type byte.
		if ri+4 >= end {
			ae.returnToPool()
			return nil, errBadAppendEntry
		}
		size := uint64(wire.Uint32(msg[ri:]))
		ri += 4
		if size == 0 || ri+size > end {
			ae.returnToPool()
			return nil, errBadAppendEntry
		}
		ae.entries = append(ae.entries, newEntry(EntryType(msg[ri]), msg[ri+1:ri+size]))
		ri += size
	}
	if ri < end {
		if lterm, n := binary.Uvarint(msg[ri:]); n > 0 {
			ae.lterm = lterm
		}
	}
	ae.buf = msg
	return ae, nil
}

// newAppendEntryResponse takes a response from the pool; reply is always
// cleared because a pooled response may still carry an old one.
func newAppendEntryResponse(term, index uint64, peer string, success bool) *appendEntryResponse {
	ar := arPool.Get().(*appendEntryResponse)
	ar.term, ar.index, ar.peer, ar.success = term, index, peer, success
	ar.reply = ""
	return ar
}

// encode lays out a response as term[8] index[8] peer[8] success[1],
// reusing b when it is large enough.
func (ar *appendEntryResponse) encode(b []byte) []byte {
	var buf []byte
	if cap(b) >= appendEntryResponseLen {
		buf = b[:appendEntryResponseLen]
	} else {
		buf = make([]byte, appendEntryResponseLen)
	}
	wire.PutUint64(buf[0:], ar.term)
	wire.PutUint64(buf[8:], ar.index)
	clear(buf[16 : 16+idLen])
	copy(buf[16:16+idLen], ar.peer)
	buf[24] = 0
	if ar.success {
		buf[24] = 1
	}
	return buf
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
	ar := arPool.Get().(*appendEntryResponse)
	ar.term = wire.Uint64(msg[0:])
	ar.index = wire.Uint64(msg[8:])
	ar.peer = internPeerID(msg[16 : 16+idLen])
	ar.success = msg[24] == 1
	ar.reply = ""
	return ar
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

func encodePeerState(ps *peerState) []byte {
	buf := make([]byte, peerStateBufSize(ps))
	wire.PutUint32(buf[0:], uint32(ps.clusterSize))
	wire.PutUint32(buf[4:], uint32(len(ps.knownPeers)))
	wi := 8
	for _, p := range ps.knownPeers {
		copy(buf[wi:wi+idLen], p)
		wi += idLen
	}
	wire.PutUint16(buf[wi:], uint16(ps.domainExt))
	return buf
}

// decodePeerState accepts a missing domain extension, which older writers
// did not emit, but not a short peer list.
func decodePeerState(buf []byte) (*peerState, error) {
	if len(buf) < 8 {
		return nil, errCorruptPeers
	}
	ps := &peerState{clusterSize: int(wire.Uint32(buf[0:]))}
	want := int(wire.Uint32(buf[4:]))
	rest := buf[8:]
	if want > len(rest)/idLen {
		return nil, errCorruptPeers
	}
	for range want {
		ps.knownPeers = append(ps.knownPeers, string(rest[:idLen]))
		rest = rest[idLen:]
	}
	if len(rest) >= 2 {
		ps.domainExt = extensionState(wire.Uint16(rest))
	}
	return ps, nil
}

// encode lays out a vote request as term[8] lastTerm[8] lastIndex[8]
// candidate[8].
func (vr *voteRequest) encode() []byte {
	buf := make([]byte, voteRequestLen)
	wire.PutUint64(buf[0:], vr.term)
	wire.PutUint64(buf[8:], vr.lastTerm)
	wire.PutUint64(buf[16:], vr.lastIndex)
	copy(buf[24:24+idLen], vr.candidate)
	return buf
}

// decodeVoteRequest returns nil for a message of the wrong size.
func decodeVoteRequest(msg []byte, reply string) *voteRequest {
	if len(msg) != voteRequestLen {
		return nil
	}
	return &voteRequest{
		term:      wire.Uint64(msg[0:]),
		lastTerm:  wire.Uint64(msg[8:]),
		lastIndex: wire.Uint64(msg[16:]),
		candidate: string(msg[24 : 24+idLen]),
		reply:     reply,
	}
}

// Flag bits of a vote response's last byte.
const (
	voteGrantedBit = 1 << 0
	voteEmptyBit   = 1 << 1
)

// encode lays out a vote response as term[8] peer[8] flags[1].
func (vr *voteResponse) encode() []byte {
	buf := make([]byte, voteResponseLen)
	wire.PutUint64(buf[0:], vr.term)
	copy(buf[8:8+idLen], vr.peer)
	if vr.granted {
		buf[16] |= voteGrantedBit
	}
	if vr.empty {
		buf[16] |= voteEmptyBit
	}
	return buf
}

// decodeVoteResponse returns nil for a message of the wrong size.
func decodeVoteResponse(msg []byte) *voteResponse {
	if len(msg) != voteResponseLen {
		return nil
	}
	return &voteResponse{
		term:    wire.Uint64(msg[0:]),
		peer:    string(msg[8 : 8+idLen]),
		granted: msg[16]&voteGrantedBit != 0,
		empty:   msg[16]&voteEmptyBit != 0,
	}
}
