package raftport

import "github.com/porttrack-dev/porttrack/raftport/protocol"

// The node's inbound queues (vote requests and replies, proposals, append
// entries and their responses) all ring one doorbell, n.inbox, so that a
// role's loop waits on it, its timers and the stop signals instead of
// selecting over every queue: a select costs a lock and a waiter for each
// of its channels, twice per wake-up, and the loop wakes several times per
// committed entry. After a ring the loop serves each queue that holds
// something, in the order its role lists them.

// inboxDuty is what a role does with one of its queues: pending reports
// whether the queue holds something, serve handles it and reports whether
// the role's loop goes on.
type inboxDuty struct {
	pending func(*raft) bool
	serve   func(*raft) bool
}

// goOn makes a duty of a handler after which the loop always goes on.
func goOn(handle func(*raft)) func(*raft) bool {
	return func(n *raft) bool { handle(n); return true }
}

var (
	hasVoteRequests = func(n *raft) bool { return n.reqs.Len() > 0 }
	hasVoteReplies  = func(n *raft) bool { return n.votes.Len() > 0 }
	hasProposals    = func(n *raft) bool { return n.prop.Len() > 0 }
	hasEntries      = func(n *raft) bool { return n.entry.Len() > 0 }
	hasResponses    = func(n *raft) bool { return n.resp.Len() > 0 }

	takeVoteRequest = goOn((*raft).takeVoteRequest)
	takeEntries     = goOn((*raft).processAppendEntries)
	dropResponses   = goOn(func(n *raft) { n.resp.Drain() })
	dropProposals   = goOn((*raft).dropProposals)
)

// Each role's duties, most urgent first. A leader counts responses before
// it sends proposals, so that proposers freed by a commit can join the
// next append entry.
var (
	leaderInbox = []inboxDuty{
		{hasResponses, goOn((*raft).countResponses)},
		{hasProposals, goOn((*raft).sendProposals)},
		{hasEntries, takeEntries},
		{hasVoteRequests, takeVoteRequest},
		{hasVoteReplies, func(n *raft) bool { return n.takeVoteReply(nil) }},
	}
	followerInbox = []inboxDuty{
		{hasEntries, takeEntries},
		{hasVoteRequests, takeVoteRequest},
		// Replies to a campaign we already gave up, still in flight.
		{hasVoteReplies, goOn(func(n *raft) {
			n.debug("Vote reply arrived after candidacy ended, discarding")
			n.votes.Drain()
		})},
		// Responses to our leadership, from before we stepped down.
		{hasResponses, dropResponses},
		{hasProposals, dropProposals},
	}
)

// candidateInbox are a campaign's duties; its vote replies count in tally.
func candidateInbox(tally *protocol.Tally) []inboxDuty {
	return []inboxDuty{
		{hasVoteReplies, func(n *raft) bool { return n.takeVoteReply(tally) }},
		{hasVoteRequests, takeVoteRequest},
		{hasEntries, takeEntries},
		// Responses to a leadership we no longer hold.
		{hasResponses, dropResponses},
		// Proposals made to a leadership we no longer hold.
		{hasProposals, dropProposals},
	}
}

// serveInbox serves, after a ring, each of duties whose queue holds
// something. It stops early when a duty ends the loop or changed our
// role, the next role's loop then serving the rest: it rings the doorbell
// again for them, since the ring that announced them was taken.
func (n *raft) serveInbox(role RaftState, duties []inboxDuty) bool {
	for _, d := range duties {
		if !d.pending(n) {
			continue
		}
		if goesOn := d.serve(n); !goesOn || n.State() != role {
			n.ringInbox(duties)
			return goesOn
		}
	}
	return true
}

// ringInbox rings the doorbell if a queue of duties holds something; every
// role's duties cover all the inbound queues (TestRoleInboxesCoverEveryQueue).
func (n *raft) ringInbox(duties []inboxDuty) {
	for _, d := range duties {
		if d.pending(n) {
			select {
			case n.inbox <- struct{}{}:
			default:
			}
			return
		}
	}
}
