package faults

import (
	"fmt"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// counters explain a run's throughput: where a lost message cost a
// catchup, an election or a dropped proposal. raftport does not count
// what its nodes do yet (a node Stats() is coming); until then this is
// the one place that derives them from outside: the in-process network's
// counters, the catchup streams and vote requests the tap saw, and what
// the clients were answered. Switching to the node's own counters changes
// collectCounters only.
type counters struct {
	Messages       transport.Stats // node-to-node and client traffic
	CatchupStarts  int             // catchup streams leaders began
	CatchupEntries uint64          // entries re-sent in catchup streams
	VoteRequests   uint64          // candidacies (one vote request each)
	Term           uint64          // the leader's term at the end
	Clients        kv.ClientStats  // attempts, and what they were answered
}

func collectCounters(c *cluster, w *wireLog, clients []*kv.Client, term uint64) counters {
	k := counters{Messages: c.net.Stats(""), Term: term}
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

func (k counters) String() string {
	return fmt.Sprintf("messages sent %d dropped %d duplicated %d; catchups started %d re-sending %d entries; vote requests %d (final term %d); client attempts %d: not leader %d, proposal dropped or unknown %d, no answer %d",
		k.Messages.Sent, k.Messages.Dropped, k.Messages.Duplicated, k.CatchupStarts, k.CatchupEntries,
		k.VoteRequests, k.Term, k.Clients.Attempts, k.Clients.NotLeader, k.Clients.Unknown, k.Clients.NoAnswer)
}
