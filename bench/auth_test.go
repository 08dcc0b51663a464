package bench

import (
	"testing"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// TestThroughputOverAuthenticatedTransport runs raftport with every node's
// connection wrapped by AuthWrap: Throughput checks that every entry was
// applied everywhere, and each node's AuthConn must have verified the
// traffic it received and refused none of it.
func TestThroughputOverAuthenticatedTransport(t *testing.T) {
	lib, err := LookupLibrary("raftport")
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range Modes() {
		t.Run(string(mode), func(t *testing.T) {
			target, _ := lib.Target(mode)
			conns := map[string]*transport.AuthConn{}
			opts := testOptions()
			opts.WrapConn = AuthWrap(key, func(node string, c *transport.AuthConn) { conns[node] = c })
			res, err := Throughput(target, Workload{Proposers: 4, EntrySize: 64}, testTiming, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.LogEntries < 1 {
				t.Fatalf("no entry proposed: %+v", res)
			}
			if len(conns) != GroupSize {
				t.Fatalf("%d connections wrapped, want %d", len(conns), GroupSize)
			}
			for node, c := range conns {
				if st := c.Stats(); st.Accepted == 0 || st.Dropped() != 0 {
					t.Errorf("node %s: %+v, want messages accepted and none dropped", node, st)
				}
			}
		})
	}
}

func TestAuthWrapRefusesAShortKey(t *testing.T) {
	network := transport.NewNetwork(transport.NetworkOptions{})
	defer network.Close()
	conn, err := network.Dial("n1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if c, err := AuthWrap(make([]byte, transport.MinAuthKeyLen-1), nil)("n1", conn); err == nil || c != nil {
		t.Fatalf("wrapped with a %d-byte key: %v, %v", transport.MinAuthKeyLen-1, c, err)
	}
}
