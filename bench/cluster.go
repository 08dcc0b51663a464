package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// cluster is a running 3-node group of one library, driven the way that
// library's users drive it.
type cluster interface {
	// leader returns the node that leads now, or -1; with all set, only a
	// leader every running node follows counts.
	leader(all bool) int
	// propose hands data to node's library and returns once it is
	// accepted, not committed (the pipelined mode).
	propose(node int, data []byte) error
	// commit proposes data on node and returns once it is committed, in
	// the way the library offers its users to wait for that; t is what a
	// proposer can wait on when the library offers nothing better.
	commit(ctx context.Context, node int, data []byte, t ticket) error
	// stop crashes node: it stops at once, keeping only what its log
	// holds (the durable log's files, or the in-memory log object).
	stop(node int) error
	// restart starts a stopped node again on its log.
	restart(node int) error
	// snapshot makes node store its state machine's snapshot and drop the
	// log it covers. It is called on a quiet group.
	snapshot(node int) error
	// fsyncs returns the fsyncs of log files summed over the nodes, and
	// false if the library's log does not count them.
	fsyncs() (uint64, bool)
	// close stops every node and waits for every goroutine it started.
	close() error
}

// clusterConfig is what a library needs to start its group.
type clusterConfig struct {
	// dir is where durable logs and node state go.
	dir string
	// sm is every node's state machine.
	sm stateMachine
	// fail reports an error that breaks the group (a storage failure, an
	// entry applied out of order) so waits end.
	fail func(error)
	// ctx is cancelled when the session fails and at close, for calls
	// that would otherwise wait for a leader forever.
	ctx     context.Context
	timeout time.Duration
	// election is the election timeout: a follower campaigns after a
	// random 1-2× of it, a leader heartbeats every tenth of it.
	election time.Duration
	// wrap, when set, wraps raftport's transport connections (e.g. in an
	// authenticating layer); the other libraries ignore it.
	wrap connWrapper
	// connect, when set, gives raftport node i (host name) its connection
	// instead of the in-process network.
	connect func(node int, name string) (transport.Conn, error)
}

// stateMachine is what the libraries call as nodes apply the log.
type stateMachine interface {
	// apply is called for every committed workload entry on the node
	// that applied it, in log order.
	apply(node int, data []byte)
	// snapshot encodes node's state machine; restore replaces it.
	snapshot(node int) []byte
	restore(node int, snap []byte) error
}

// heartbeat is the leader's heartbeat interval.
func (cfg clusterConfig) heartbeat() time.Duration { return cfg.election / heartbeatsPerElection }

// starter starts a group and returns it once it has a leader.
type starter func(cfg clusterConfig) (cluster, error)

// waitFor polls cond every millisecond until it holds or timeout passes.
func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%s: not within %v", what, timeout)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// waitLeader waits for a leader followed by every running node.
func waitLeader(c cluster, timeout time.Duration) (int, error) {
	leader := -1
	err := waitFor(timeout, "no leader followed by every node", func() bool {
		leader = c.leader(true)
		return leader >= 0
	})
	return leader, err
}

// askLoop hands a node's loop a request on req and returns the loop's
// answer: drivers run snapshots in the loop that applies entries, where
// the state machine and the node's applied index agree.
func askLoop(ctx context.Context, req chan chan error) error {
	reply := make(chan error, 1)
	select {
	case req <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-reply
}
