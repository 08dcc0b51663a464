package raftport

import (
	"testing"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// restartHost is a host on its own in-process network.
func restartHost(t testing.TB) *Server {
	t.Helper()
	s, _ := hostAlone(t)
	return s
}

// hostAlone is restartHost with its network, whose counts show what the
// host sent.
func hostAlone(t testing.TB) (*Server, *transport.Network) {
	t.Helper()
	network := transport.NewNetwork(transport.NetworkOptions{NoEcho: true})
	t.Cleanup(network.Close)
	conn, err := network.Dial(NodeID("restart-1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(ServerConfig{Name: "restart-1", Connect: func(string) (transport.Conn, error) { return conn, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s, network
}

// TestRestartDetectedFromStore: a node started on a store that holds a
// term in tav.idx is a restart even with Recovering false: an empty
// durable log then abstains, and the node is not "initializing" (whose
// empty log would count as a full one in elections). A store without a
// term is a new member.
func TestRestartDetectedFromStore(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		term                  uint64
		abstain, initializing bool
	}{
		{"new member", 0, false, true},
		{"restart", 3, true, false},
	} {
		s := restartHost(t)
		store := t.TempDir()
		wal, err := storage.OpenFileWAL(t.TempDir(), storage.WALOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := &RaftConfig{Name: "RESTART", Store: store, Log: wal}
		if err := s.BootstrapRaftNode(cfg, []string{s.ID(), "PEER0001", "PEER0002"}, true); err != nil {
			t.Fatal(err)
		}
		if tc.term > 0 {
			tv := wire.AppendUint64(nil, tc.term)
			if err := writeTermVote(store, tv); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.initRaftNode("", cfg)
		if err != nil {
			t.Fatal(err)
		}
		n.RLock()
		abstain, initializing := n.abstain, n.initializing
		n.RUnlock()
		if abstain != tc.abstain || initializing != tc.initializing {
			t.Errorf("%s: abstain %v initializing %v, want %v %v", tc.name, abstain, initializing, tc.abstain, tc.initializing)
		}
		n.Stop()
	}
}
