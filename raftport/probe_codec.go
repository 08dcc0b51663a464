package raftport

// The window's codec: the wire messages as raftprobe's plain values.

import (
	"errors"
	"fmt"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

// probeCodec is raftprobe.Codec over this package's encodings.
type probeCodec struct{}

// probeAppendEntry is the message spec describes, for encoding.
func probeAppendEntry(spec probeSpec) *appendEntry {
	return &appendEntry{leader: spec.Leader, term: spec.Term, commit: spec.Commit,
		pterm: spec.PTerm, pindex: spec.PIndex, lterm: spec.LTerm, entries: spec.Entries}
}

// probeSpecOf is ae as plain values.
func probeSpecOf(ae *appendEntry) probeSpec {
	var s probeSpec
	s.Leader, s.Term, s.Commit, s.LTerm = ae.leader, ae.term, ae.commit, ae.lterm
	s.PTerm, s.PIndex = ae.pterm, ae.pindex
	s.Entries, s.Reply = ae.entries, ae.reply
	return s
}

// probeDecode decodes msg as the transport hands it to the node, arriving on
// via (nil for a replay of the node's own log).
func probeDecode(msg *probeMsg, via raftprobe.Sub) (*appendEntry, error) {
	return decodeAppendEntry(msg.Bytes(), via.Subscription(), msg.Spec().Reply)
}

func (probeCodec) EncodeAppendEntry(spec probeSpec) (*probeMsg, error) {
	wire, err := probeAppendEntry(spec).encode(nil)
	if err == nil {
		return raftprobe.NewAppendEntryMsg(spec, wire), nil
	}
	return nil, err
}

func (probeCodec) EncodeAppendEntryInto(spec probeSpec, b []byte) ([]byte, error) {
	return probeAppendEntry(spec).encode(b)
}

func (probeCodec) DecodeAppendEntry(msg []byte) (probeSpec, error) {
	ae, err := decodeAppendEntry(append([]byte(nil), msg...), nil, "")
	if err != nil {
		return probeSpec{}, err
	}
	return probeSpecOf(ae), nil
}

// probeResponse is the append-entry response r describes.
func probeResponse(r raftprobe.ResponseSpec) *appendEntryResponse {
	return &appendEntryResponse{term: r.Term, index: r.Index, peer: r.Peer, reply: r.Reply, success: r.Success}
}

func (probeCodec) EncodeAppendEntryResponse(r raftprobe.ResponseSpec) []byte {
	return probeResponse(r).encode(nil)
}

func (probeCodec) DecodeAppendEntryResponse(msg []byte, reply string) (raftprobe.ResponseSpec, error) {
	ar := decodeAppendEntryResponse(msg)
	if ar == nil {
		return raftprobe.ResponseSpec{}, fmt.Errorf("raftport: append entry response of %d bytes, want %d", len(msg), appendEntryResponseLen)
	}
	r := raftprobe.ResponseSpec{Term: ar.term, Index: ar.index, Peer: ar.peer, Reply: reply, Success: ar.success}
	arPool.Put(ar)
	return r, nil
}

func probeVoteRequest(q raftprobe.VoteRequestSpec) *voteRequest {
	return &voteRequest{term: q.Term, lastTerm: q.LastTerm, lastIndex: q.LastIndex, candidate: q.Candidate, reply: q.Reply}
}

func probeVoteResponse(v raftprobe.VoteResponseSpec) *voteResponse {
	return &voteResponse{term: v.Term, peer: v.Peer, granted: v.Granted, empty: v.Empty}
}

func probeVoteAnswer(vr *voteResponse) raftprobe.VoteResponseSpec {
	return raftprobe.VoteResponseSpec{Term: vr.term, Peer: vr.peer, Granted: vr.granted, Empty: vr.empty}
}

var (
	errProbeVoteRequest  = errors.New("raftport: malformed vote request")
	errProbeVoteResponse = errors.New("raftport: malformed vote response")
)

func (probeCodec) EncodeVoteRequest(q raftprobe.VoteRequestSpec) []byte {
	return probeVoteRequest(q).encode()
}

func (probeCodec) DecodeVoteRequest(msg []byte, reply string) (raftprobe.VoteRequestSpec, error) {
	if vr := decodeVoteRequest(msg, reply); vr != nil {
		return raftprobe.VoteRequestSpec{Term: vr.term, LastTerm: vr.lastTerm, LastIndex: vr.lastIndex,
			Candidate: vr.candidate, Reply: vr.reply}, nil
	}
	return raftprobe.VoteRequestSpec{}, errProbeVoteRequest
}

func (probeCodec) EncodeVoteResponse(v raftprobe.VoteResponseSpec) []byte {
	return probeVoteResponse(v).encode()
}

func (probeCodec) DecodeVoteResponse(msg []byte) (raftprobe.VoteResponseSpec, error) {
	if vr := decodeVoteResponse(msg); vr != nil {
		return probeVoteAnswer(vr), nil
	}
	return raftprobe.VoteResponseSpec{}, errProbeVoteResponse
}
