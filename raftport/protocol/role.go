package protocol

import "time"

// Role is a node's place in its group. The values are those of
// raftport.RaftState, so the shell converts between them directly.
type Role uint8

// The roles. Closed is final: no transition leaves it, and entering it
// resets nothing but what leaving the leadership resets.
const Follower, Leader, Candidate, Closed Role = 0, 1, 2, 3

// LeaderAfter says whom a node follows once a transition is done.
type LeaderAfter uint8

const (
	LeaderNamed LeaderAfter = iota // the leader the caller named ("" when unknown)
	LeaderNone                     // nobody: an election is on
	LeaderSelf                     // this node
)

// Transition is everything a switch of role requires of the shell. The
// shell applies the resets, takes the new role, rearms the election timer
// and writes term and vote, in that order.
type Transition struct {
	Refused bool // the node is closed: nothing happens at all

	// Resets before the role changes: the up-to-date-leader flag, its time
	// and the index it waits for (ClearLeaderMarks); a leadership transfer
	// under way (ClearTransfer); the acks, since those of one term say
	// nothing of the next (ClearAcks); a candidate's new term (NextTerm).
	ClearLeaderMarks, ClearTransfer, ClearAcks, NextTerm bool
	Leader                                               LeaderAfter

	// Effects of the role change itself: leadership was gained or lost
	// (LeadershipChanged); tell the upper layer we no longer lead
	// (SignalLost); drop the proposals and responses addressed to our
	// leadership (DropLeaderQueues) or a previous leadership's cache of sent
	// entries (DropPending); then rearm the election timer and write term
	// and vote.
	LeadershipChanged, SignalLost, DropLeaderQueues, DropPending, ResetTimer, PersistTermVote bool

	// After the role change: send the peer state as the new term's first
	// entry and report leadership only once it is applied.
	Announce bool
}

// Enter is rule Enter: the transition from role from to role to.
func Enter(from, to Role) Transition {
	if from == Closed {
		return Transition{Refused: true}
	}
	t := Transition{ResetTimer: true, PersistTermVote: true}
	switch to {
	case Follower:
		t.ClearLeaderMarks, t.ClearTransfer, t.ClearAcks = true, true, true
		t.Leader = LeaderNamed
	case Candidate:
		t.NextTerm, t.Leader = true, LeaderNone
	case Leader:
		t.ClearTransfer, t.Leader, t.Announce = true, LeaderSelf, true
	}
	gained, lost := to == Leader && from != Leader, from == Leader && to != Leader
	t.LeadershipChanged = gained || lost
	t.SignalLost, t.DropLeaderQueues = lost, lost
	t.DropPending = gained
	return t
}

// Standing is what decides whether a node may stand for election now.
type Standing struct {
	Observer, Paused  bool
	Processed, Commit uint64
	// Repeat: the node is already a candidate whose election timed out.
	// LostQuorum: it hears from too few peers. SinceSignal: time since it
	// last told the upper layer it is without quorum.
	Repeat, LostQuorum bool
	SinceSignal        time.Duration
}

// Candidacy is the decision on a Standing.
type Candidacy struct {
	Stand bool // become (or stay) a candidate in a new term
	// Retry: may not stand now (observer, paused, or commits not yet all
	// processed, e.g. a snapshot being applied); try again later.
	Retry bool
	// SignalNoQuorum: a repeated candidacy without quorum, reported to the
	// upper layer at most once per two lost-quorum windows.
	SignalNoQuorum bool
}

// StandForElection is rule StandForElection; window is the lost-quorum
// interval.
func StandForElection(s Standing, window time.Duration) Candidacy {
	if s.Observer || s.Paused || s.Processed < s.Commit {
		return Candidacy{Retry: true}
	}
	return Candidacy{Stand: true, SignalNoQuorum: s.Repeat && s.LostQuorum && s.SinceSignal > 2*window}
}

// MayCampaign is rule MayCampaign: asking for an election makes sense to
// anyone but the leader.
func MayCampaign(r Role) bool { return r != Leader }
