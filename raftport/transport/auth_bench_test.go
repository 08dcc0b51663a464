package transport

import (
	"fmt"
	"testing"
)

// authBenchSizes are append entries as a leader sends them: a heartbeat (no
// entry), one 256-byte entry, and batches of 4 KiB and 64 KiB.
var authBenchSizes = []int{appendEntryHeartbeatLen, appendEntryHeartbeatLen + 5 + 256, 4 << 10, 64 << 10}

// appendEntryHeartbeatLen is an append entry without entries: the header
// and a one-byte lterm.
const appendEntryHeartbeatLen = 8 + 4*8 + 2 + 1

// benchAuthSizes runs op once per iteration for each message size, on an
// AuthConn holding the group key; op gets the message data.
func benchAuthSizes(b *testing.B, op func(b *testing.B, c *AuthConn, data []byte) func()) {
	n := NewNetwork(NetworkOptions{})
	defer n.Close()
	c := mustAuth(b, n.Connect("bench"), AuthConfig{Key: groupKey})
	for _, size := range authBenchSizes {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			step := op(b, c, make([]byte, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
		})
	}
}

const benchReply = "$NRG.R.abcdefgh"

// BenchmarkAuthSeal is the sender's cost: trailer, tag and the copy into a
// new buffer.
func BenchmarkAuthSeal(b *testing.B) {
	subject := AppendSubject("bench")
	benchAuthSizes(b, func(_ *testing.B, c *AuthConn, data []byte) func() {
		return func() { c.seal(subject, benchReply, data) }
	})
}

// BenchmarkAuthRoundTrip is what authentication adds to one message
// delivered to one subscriber: seal on the sender, then on the receiver the
// tag check and the replay check. A leader's append entry costs one seal
// plus one open per follower.
func BenchmarkAuthRoundTrip(b *testing.B) {
	subject := AppendSubject("bench")
	benchAuthSizes(b, func(b *testing.B, c *AuthConn, data []byte) func() {
		seen := newReplayFilter()
		return func() {
			msg := c.seal(subject, benchReply, data)
			if _, ok := c.open(subject, benchReply, msg, seen); !ok {
				b.Fatalf("a sealed message did not open: %+v", c.Stats())
			}
		}
	})
}

// BenchmarkAuthInprocPublishDeliver is BenchmarkInprocPublishDeliver with
// both ends authenticated, for comparison on the same transport.
func BenchmarkAuthInprocPublishDeliver(b *testing.B) {
	n := NewNetwork(NetworkOptions{})
	defer n.Close()
	pub := mustAuth(b, n.Connect("pub"), AuthConfig{Key: groupKey})
	sub := mustAuth(b, n.Connect("sub"), AuthConfig{Key: groupKey})
	benchPublishDeliver(b, pub, sub)
}
