package transport

import (
	"sync/atomic"
	"testing"
	"time"
)

const benchPayload = 256

// benchPublishDeliver measures publish plus delivery to one subscriber on
// another connection: the clock stops when the last message is handled.
func benchPublishDeliver(b *testing.B, pub, sub Conn) {
	subject := AppendSubject("bench")
	var got atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	if _, err := sub.Subscribe(subject, func(string, string, []byte) {
		if got.Add(1) == want {
			close(done)
		}
	}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := pub.Publish(subject, "", data); err != nil {
			b.Fatal(err)
		}
	}
	// A subscriber that falls too far behind has messages dropped (NATS
	// slow consumer); fail then rather than hang.
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("delivered %d of %d messages", got.Load(), want)
	}
}

func BenchmarkInprocPublishDeliver(b *testing.B) {
	n := NewNetwork(NetworkOptions{})
	defer n.Close()
	benchPublishDeliver(b, n.Connect("pub"), n.Connect("sub"))
}
