package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

func (ae *appendEntry) encode(b []byte) ([]byte, error) {
	panic("unported: feature 2715")
}

func decodeAppendEntry(msg []byte, sub transport.Subscription, reply string) (*appendEntry, error) {
	panic("unported: feature 2716")
}

func newAppendEntryResponse(term, index uint64, peer string, success bool) *appendEntryResponse {
	panic("unported: feature 2717")
}

func (ar *appendEntryResponse) encode(b []byte) []byte {
	panic("unported: feature 2718")
}

func decodeAppendEntryResponse(msg []byte) *appendEntryResponse {
	panic("unported: feature 2719")
}

func (ae *appendEntry) shouldStore() bool {
	panic("unported: feature 2757")
}

func peerStateBufSize(ps *peerState) int {
	panic("unported: feature 2762")
}

func encodePeerState(ps *peerState) []byte {
	panic("unported: feature 2763")
}

func decodePeerState(buf []byte) (*peerState, error) {
	panic("unported: feature 2764")
}

func (vr *voteRequest) encode() []byte {
	panic("unported: feature 2770")
}

func decodeVoteRequest(msg []byte, reply string) *voteRequest {
	panic("unported: feature 2771")
}

func (vr *voteResponse) encode() []byte {
	panic("unported: feature 2781")
}

func decodeVoteResponse(msg []byte) *voteResponse {
	panic("unported: feature 2782")
}
