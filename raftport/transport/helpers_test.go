package transport

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait on asynchronous delivery; a passing test
// never comes near it.
const waitTimeout = 5 * time.Second

// received is one message as a handler saw it.
type received struct {
	Subject, Reply, Data string
}

// recorder collects what a handler receives.
type recorder struct {
	mu   sync.Mutex
	msgs []received
	grew chan struct{}
}

func newRecorder() *recorder { return &recorder{grew: make(chan struct{}, 1)} }

func (r *recorder) handle(subject, reply string, data []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, received{subject, reply, string(data)})
	r.mu.Unlock()
	select {
	case r.grew <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *recorder) data() []string {
	msgs := r.snapshot()
	out := make([]string, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].Data
	}
	return out
}

// waitCount waits until at least n messages arrived and returns them.
func (r *recorder) waitCount(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		got := r.snapshot()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.grew:
		case <-deadline.C:
			t.Fatalf("got %d messages, want %d within %v: %v", len(got), n, waitTimeout, got)
		}
	}
}

// numbered returns "prefix0".."prefix<n-1>".
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustSubscribe(t *testing.T, c Conn, subject string, h Handler) Subscription {
	t.Helper()
	s, err := c.Subscribe(subject, h)
	if err != nil {
		t.Fatalf("subscribe %q: %v", subject, err)
	}
	return s
}

func mustPublish(t *testing.T, c Conn, subject, reply string, data []byte) {
	t.Helper()
	if err := c.Publish(subject, reply, data); err != nil {
		t.Fatalf("publish %q: %v", subject, err)
	}
}
