package kv

import (
	"context"
	"errors"

	"github.com/porttrack-dev/porttrack/raftport"
)

// The outcomes of a proposal a node can report besides success.
var (
	// ErrNotLeader: this node does not lead; nothing was proposed. Ask the
	// leader (Node.LeaderID names it when known).
	ErrNotLeader = errors.New("kv: not the leader")
	// ErrOutcomeUnknown: the command was proposed but this node cannot
	// tell whether it committed (it lost leadership, or the wait ended).
	// It may still commit. Retrying the same command (same Client and
	// Seq) is safe: the store applies it at most once.
	ErrOutcomeUnknown = errors.New("kv: outcome unknown")
	// ErrStopped: the node stopped while the command was pending; as with
	// ErrOutcomeUnknown the command may still commit elsewhere.
	ErrStopped = errors.New("kv: node stopped")
)

// propose proposes entry on node and waits for raftport's outcome
// (RaftNode.ProposeWait): where it committed, or why that is not known,
// in this package's errors. raftport reports the commit before the store
// applied it; Do waits for that.
func propose(ctx context.Context, node raftport.RaftNode, entry []byte) (raftport.Outcome, error) {
	at, err := node.ProposeWait(ctx, entry)
	switch {
	case err == nil:
		return at, nil
	case errors.Is(err, raftport.ErrNotLeader):
		// Never reached the log.
		return at, ErrNotLeader
	case errors.Is(err, raftport.ErrNodeClosed):
		return at, ErrStopped
	case errors.Is(err, raftport.ErrOutcomeUnknown), ctx.Err() != nil:
		// A wait that ended before the proposal was sent withdrew it, but
		// the client cannot tell that from one that ended later.
		return at, ErrOutcomeUnknown
	}
	return at, err
}
