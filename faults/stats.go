package faults

import (
	"fmt"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// counters explain a run's throughput: where a lost message cost a
// catchup, an election or a dropped proposal. They come from the nodes'
// own Stats (summed over every node that ran, restarted ones included)
// and, seen from outside, from the in-process network's counters, the
// catchup streams and vote requests the tap saw, and what the clients
// were answered.
type counters struct {
	Node           raftport.NodeStats // the nodes' own recovery counters
	Messages       transport.Stats    // node-to-node and client traffic
	CatchupStarts  int                // catchup streams leaders began
	CatchupEntries uint64             // entries re-sent in catchup streams
	VoteRequests   uint64             // candidacies (one vote request each)
	Term           uint64             // the leader's term at the end
	Clients        kv.ClientStats     // attempts, and what they were answered
}

func collectCounters(c *cluster, w *wireLog, clients []*kv.Client, term uint64) counters {
	k := counters{Messages: c.net.Stats(""), Term: term}
	// The nemesis has stopped: members no longer change.
	for _, m := range c.members {
		k.Node = addNodeStats(k.Node, m.pastStats, nodeStats(m.node))
	}
	w.mu.Lock()
	k.CatchupStarts = len(w.streams)
	for _, s := range w.streams {
		k.CatchupEntries += s.messages
	}
	k.VoteRequests = w.votes
	w.mu.Unlock()
	for _, cl := range clients {
		st := cl.Stats()
		k.Clients.Attempts += st.Attempts
		k.Clients.NotLeader += st.NotLeader
		k.Clients.Unknown += st.Unknown
		k.Clients.NoAnswer += st.NoAnswer
	}
	return k
}

// nodeStats reads a node's recovery counters; none for no node.
func nodeStats(n *kv.Node) raftport.NodeStats {
	if n == nil {
		return raftport.NodeStats{}
	}
	if s, ok := n.Raft().(interface{ Stats() raftport.NodeStats }); ok {
		return s.Stats()
	}
	return raftport.NodeStats{}
}

func addNodeStats(all ...raftport.NodeStats) raftport.NodeStats {
	var t raftport.NodeStats
	for _, s := range all {
		t.CatchupsRequested += s.CatchupsRequested
		t.LiveHeld += s.LiveHeld
		t.CatchupStreams += s.CatchupStreams
		t.EntriesResent += s.EntriesResent
		t.Elections += s.Elections
		t.ProposalsDropped += s.ProposalsDropped
	}
	return t
}

func (k counters) String() string {
	return fmt.Sprintf("nodes: catchups asked %d, streams %d, entries re-sent %d, live entries held %d, elections %d, proposals dropped %d; ",
		k.Node.CatchupsRequested, k.Node.CatchupStreams, k.Node.EntriesResent, k.Node.LiveHeld, k.Node.Elections, k.Node.ProposalsDropped) +
		fmt.Sprintf("messages sent %d dropped %d duplicated %d; catchups started %d re-sending %d entries; vote requests %d (final term %d); client attempts %d: not leader %d, proposal dropped or unknown %d, no answer %d",
			k.Messages.Sent, k.Messages.Dropped, k.Messages.Duplicated, k.CatchupStarts, k.CatchupEntries,
			k.VoteRequests, k.Term, k.Clients.Attempts, k.Clients.NotLeader, k.Clients.Unknown, k.Clients.NoAnswer)
}
