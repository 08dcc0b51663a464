package raftport

// The window's codec: the wire messages as raftprobe's plain values.

import (
	"errors"
	"fmt"

	"github.com/porttrack-dev/porttrack/internal/raftprobe"
)

// codec is raftprobe.Codec over this package's encodings.
type codec struct{}

// toAppendEntry is the message spec describes, for encoding.
func toAppendEntry(spec aeSpec) *appendEntry {
	return &appendEntry{leader: spec.Leader, term: spec.Term, commit: spec.Commit,
		pterm: spec.PTerm, pindex: spec.PIndex, lterm: spec.LTerm, entries: spec.Entries}
}

// specOf is ae as plain values.
func specOf(ae *appendEntry) aeSpec {
	var s aeSpec
	s.Leader, s.Term, s.Commit, s.LTerm = ae.leader, ae.term, ae.commit, ae.lterm
	s.PTerm, s.PIndex = ae.pterm, ae.pindex
	s.Entries, s.Reply = ae.entries, ae.reply
	return s
}

// Spec makes the entries yielded by RaftNodeCheckpoint.AppendEntriesSeq
// readable outside the package.
func (ae *appendEntry) Spec() aeSpec { return specOf(ae) }

// received decodes msg as the transport hands it to the node, arriving on
// via (nil for a replay of the node's own log).
func received(msg *aeMsg, via raftprobe.Sub) (*appendEntry, error) {
	return decodeAppendEntry(msg.Bytes(), via.Subscription(), msg.Spec().Reply)
}

func (codec) EncodeAppendEntry(spec aeSpec) (*aeMsg, error) {
	wire, err := toAppendEntry(spec).encode(nil)
	if err != nil {
		return nil, err
	}
	return raftprobe.NewAppendEntryMsg(spec, wire), nil
}

func (codec) EncodeAppendEntryInto(spec aeSpec, b []byte) ([]byte, error) {
	return toAppendEntry(spec).encode(b)
}

func (codec) DecodeAppendEntry(msg []byte) (aeSpec, error) {
	ae, err := decodeAppendEntry(append([]byte(nil), msg...), nil, "")
	if err != nil {
		return aeSpec{}, err
	}
	return specOf(ae), nil
}

// toResponse is the append-entry response r describes.
func toResponse(r raftprobe.ResponseSpec) *appendEntryResponse {
	return &appendEntryResponse{term: r.Term, index: r.Index, peer: r.Peer, reply: r.Reply, success: r.Success}
}

func (codec) EncodeAppendEntryResponse(r raftprobe.ResponseSpec) []byte {
	return toResponse(r).encode(nil)
}

func (codec) DecodeAppendEntryResponse(msg []byte, reply string) (raftprobe.ResponseSpec, error) {
	ar := decodeAppendEntryResponse(msg)
	if ar == nil {
		return raftprobe.ResponseSpec{}, fmt.Errorf("raftport: append entry response of %d bytes, want %d", len(msg), appendEntryResponseLen)
	}
	r := raftprobe.ResponseSpec{Term: ar.term, Index: ar.index, Peer: ar.peer, Reply: reply, Success: ar.success}
	arPool.Put(ar)
	return r, nil
}

func toVoteRequest(q raftprobe.VoteRequestSpec) *voteRequest {
	return &voteRequest{term: q.Term, lastTerm: q.LastTerm, lastIndex: q.LastIndex, candidate: q.Candidate, reply: q.Reply}
}

func toVoteResponse(v raftprobe.VoteResponseSpec) *voteResponse {
	return &voteResponse{term: v.Term, peer: v.Peer, granted: v.Granted, empty: v.Empty}
}

func voteAnswerOf(vr *voteResponse) raftprobe.VoteResponseSpec {
	return raftprobe.VoteResponseSpec{Term: vr.term, Peer: vr.peer, Granted: vr.granted, Empty: vr.empty}
}

var (
	errBadVoteRequest  = errors.New("raftport: malformed vote request")
	errBadVoteResponse = errors.New("raftport: malformed vote response")
)

func (codec) EncodeVoteRequest(q raftprobe.VoteRequestSpec) []byte { return toVoteRequest(q).encode() }

func (codec) DecodeVoteRequest(msg []byte, reply string) (raftprobe.VoteRequestSpec, error) {
	if vr := decodeVoteRequest(msg, reply); vr != nil {
		return raftprobe.VoteRequestSpec{Term: vr.term, LastTerm: vr.lastTerm, LastIndex: vr.lastIndex,
			Candidate: vr.candidate, Reply: vr.reply}, nil
	}
	return raftprobe.VoteRequestSpec{}, errBadVoteRequest
}

func (codec) EncodeVoteResponse(v raftprobe.VoteResponseSpec) []byte {
	return toVoteResponse(v).encode()
}

func (codec) DecodeVoteResponse(msg []byte) (raftprobe.VoteResponseSpec, error) {
	if vr := decodeVoteResponse(msg); vr != nil {
		return voteAnswerOf(vr), nil
	}
	return raftprobe.VoteResponseSpec{}, errBadVoteResponse
}
