package raftport_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

// TestNRGAppendEntryEncode ports test 2618: the leader must be empty or
// exactly idLen bytes, a caller's buffer is used only when it has room,
// and more than 64k entries are refused.
func TestNRGAppendEntryEncode(t *testing.T) {
	spec := raftport.AppendEntrySpec{Term: 1, PIndex: 0}

	// Test leader should be empty or exactly idLen long.
	spec.Leader = "foo_bar_baz"
	_, err := raftport.EncodeAppendEntryInto(spec, nil)
	require_Error(t, err, raftport.ErrLeaderLen)

	// Empty ok (noLeader).
	spec.Leader = ""
	_, err = raftport.EncodeAppendEntryInto(spec, nil)
	require_NoError(t, err)

	spec.Leader = "DEREK123"
	_, err = raftport.EncodeAppendEntryInto(spec, nil)
	require_NoError(t, err)

	// Buffer reuse.
	var rawSmall [32]byte
	var rawBigger [64]byte

	b := rawSmall[:]
	_, err = raftport.EncodeAppendEntryInto(spec, b)
	require_NoError(t, err)
	if b[0] != 0 {
		t.Fatalf("Expected arg buffer to not be used")
	}
	b = rawBigger[:]
	_, err = raftport.EncodeAppendEntryInto(spec, b)
	require_NoError(t, err)
	if b[0] == 0 {
		t.Fatalf("Expected arg buffer to be used")
	}

	// Test max number of entries.
	for range math.MaxUint16 + 1 {
		spec.Entries = append(spec.Entries, &raftport.Entry{Type: raftport.EntryNormal})
	}
	_, err = raftport.EncodeAppendEntryInto(spec, b)
	require_Error(t, err, raftport.ErrTooManyEntries)
}

// TestNRGAppendEntryDecode ports test 2619: a truncated message, and any
// entry size zeroed by damage, decode to errBadAppendEntry.
func TestNRGAppendEntryDecode(t *testing.T) {
	spec := raftport.AppendEntrySpec{Leader: "12345678", Term: 1, PIndex: 0}
	for range math.MaxUint16 {
		spec.Entries = append(spec.Entries, &raftport.Entry{Type: raftport.EntryNormal})
	}
	buf, err := raftport.EncodeAppendEntryInto(spec, nil)
	require_NoError(t, err)

	// Truncate buffer first.
	short := buf[0 : len(buf)-1025]
	_, err = raftport.DecodeAppendEntry(short)
	require_Error(t, err, raftport.ErrBadAppendEntry)

	for range 100 {
		b := bytes.Clone(buf)
		// Modifying the header (idx < 42) will not result in an error.
		bi := 42 + rand.IntN(len(b)-42)
		if b[bi] != 0 && bi != 40 {
			b[bi] = 0
			_, err = raftport.DecodeAppendEntry(b)
			require_Error(t, err, raftport.ErrBadAppendEntry)
		}
	}
}

// TestNRGVoteResponseEncoding ports test 2675: the granted and empty flags
// are bits 0 and 1 of byte 16 and survive a round trip.
func TestNRGVoteResponseEncoding(t *testing.T) {
	vr := raftport.VoteResponseSpec{Term: 1, Peer: "S1Nunr6R"}
	check := func(granted, empty bool, flags byte) {
		t.Helper()
		vr.Granted, vr.Empty = granted, empty
		res := raftport.EncodeVoteResponse(vr)
		require_Equal(t, res[16], flags)
		got, err := raftport.DecodeVoteResponse(res)
		require_NoError(t, err)
		require_Equal(t, got, vr)
	}
	check(false, false, 0)
	check(true, false, 1)
	check(false, true, 2)
	check(true, true, 3)
}
