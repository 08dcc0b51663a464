package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// Every group must be gone when its test or benchmark ends: each node's
// loops, the transports' goroutines and the heap sampler.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
