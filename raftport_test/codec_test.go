package raftport_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

// emptyEntries is count normal entries without data.
func emptyEntries(count int) []*raftport.Entry {
	entries := make([]*raftport.Entry, count)
	for i := range entries {
		entries[i] = &raftport.Entry{Type: raftport.EntryNormal}
	}
	return entries
}

// TestNRGAppendEntryEncode ports test 2618: the leader must be empty or
// exactly idLen bytes, a caller's buffer is used only when it has room,
// and more than 64k entries are refused.
func TestNRGAppendEntryEncode(t *testing.T) {
	for _, tc := range []struct {
		leader string
		err    error
	}{
		{leader: "foo_bar_baz", err: limits.ErrLeaderLen},
		{leader: ""}, // no leader
		{leader: "DEREK123"},
	} {
		_, err := codec.EncodeAppendEntryInto(aeFrom(tc.leader, 1).spec(), nil)
		if tc.err == nil {
			require_NoError(t, err)
		} else {
			require_Error(t, err, tc.err)
		}
	}

	ae := aeFrom("DEREK123", 1)
	var roomy []byte
	for _, tc := range []struct {
		size int
		used bool
	}{{size: 32, used: false}, {size: 64, used: true}} {
		buf := make([]byte, tc.size)
		_, err := codec.EncodeAppendEntryInto(ae.spec(), buf)
		require_NoError(t, err)
		if used := buf[0] != 0; used != tc.used {
			t.Fatalf("a %d-byte buffer used: %v, want %v", tc.size, used, tc.used)
		}
		roomy = buf
	}

	_, err := codec.EncodeAppendEntryInto(ae.carrying(emptyEntries(math.MaxUint16+1)...).spec(), roomy)
	require_Error(t, err, limits.ErrTooManyEntries)
}

// TestNRGAppendEntryDecode ports test 2619: a truncated message, and any
// entry size zeroed by damage, decode to errBadAppendEntry; the header
// alone decodes.
func TestNRGAppendEntryDecode(t *testing.T) {
	buf, err := codec.EncodeAppendEntryInto(aeFrom("12345678", 1).carrying(emptyEntries(math.MaxUint16)...).spec(), nil)
	require_NoError(t, err)
	refused := func(msg []byte) {
		t.Helper()
		_, err := codec.DecodeAppendEntry(msg)
		require_Error(t, err, limits.ErrBadAppendEntry)
	}

	refused(buf[:len(buf)-1025])

	// The 42-byte header alone, a heartbeat as peers that predate the
	// leader's term field send it, is a whole message.
	beat, err := codec.EncodeAppendEntryInto(aeFrom("12345678", 1).spec(), nil)
	require_NoError(t, err)
	_, err = codec.DecodeAppendEntry(beat[:42])
	require_NoError(t, err)
	refused(beat[:41])

	// Zeroing a byte past the 42-byte header, which decodes whatever it
	// holds, breaks an entry's size.
	for range 100 {
		damaged := bytes.Clone(buf)
		at := 42 + rand.IntN(len(damaged)-42)
		if damaged[at] != 0 {
			damaged[at] = 0
			refused(damaged)
		}
	}
}

// TestNRGVoteResponseEncoding ports test 2675: the granted and empty flags
// are bits 0 and 1 of byte 16 and survive a round trip.
func TestNRGVoteResponseEncoding(t *testing.T) {
	for _, tc := range []struct {
		granted, empty bool
		flags          byte
	}{{false, false, 0}, {true, false, 1}, {false, true, 2}, {true, true, 3}} {
		vr := voteAnswer{Term: 1, Peer: nats0, Granted: tc.granted, Empty: tc.empty}
		wire := codec.EncodeVoteResponse(vr)
		require_Equal(t, wire[16], tc.flags)
		back, err := codec.DecodeVoteResponse(wire)
		require_NoError(t, err)
		require_Equal(t, back, vr)
	}
}
