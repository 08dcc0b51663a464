package raftport_test

import (
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

// TestNodeIDMatchesReferenceHash pins the node ID derivation to the NATS
// server's: the reference tests name peers by these literal IDs.
func TestNodeIDMatchesReferenceHash(t *testing.T) {
	for name, want := range map[string]string{
		"nats-0": "S1Nunr6R",
		"nats-1": "yrzKKRBu",
		"nats-2": "cnrtt3eg",
		"S-1":    "esFhDys3",
	} {
		if got := raftport.NodeID(name); got != want {
			t.Errorf("NodeID(%q) = %q, want %q", name, got, want)
		}
	}
}
