package protocol

// Ballot is a candidate's request for a vote: its term and the position of
// the last entry of its log.
type Ballot struct {
	Term, LastTerm, LastIndex uint64
	Candidate                 string
}

// Voter is what a node knows of itself when a ballot arrives.
type Voter struct {
	Term, LastTerm, LastIndex uint64 // current term; term and index of the last log entry
	Vote, Leader              string // whom it voted for and whom it follows in Term ("" for none)
	Role                      Role
	// Initializing: the node belongs to a new group (or is a scale-up) and
	// its empty log is expected. Abstain: the node may have lost entries it
	// acknowledged, so its vote must never count as coming from a full log.
	Initializing, Abstain bool
}

// VoteVerdict is the answer to a ballot and everything the node must do
// around it, in this order: StepDown, CancelCatchup, take Term and Vote,
// write them when Persist (before the answer leaves), then rearm the
// election timer as RestartTimer or CampaignSoon say, then answer.
type VoteVerdict struct {
	Term uint64 // the voter's term after the ballot, also the answer's term
	Vote string // the voter's vote after the ballot

	// The answer: granted or not, and whether it comes from a log that
	// holds nothing (or may have lost entries).
	Granted, Empty bool

	// Persist: Term or Vote changed, make them durable before answering.
	// StepDown: a later term, a candidate or leader becomes a follower
	// first. CancelCatchup: with a later term, a catchup from an older
	// leader is moot. RestartTimer: granted, give the candidate a full
	// election timeout to win. CampaignSoon: refused for an older log while
	// free to vote, so campaign after a short delay.
	Persist, StepDown, CancelCatchup, RestartTimer, CampaignSoon bool
}

// logCovers reports whether a log ending at (lastTerm, lastIndex) holds at
// least what one ending at (term, index) holds: Raft's up-to-date check.
func logCovers(lastTerm, lastIndex, term, index uint64) bool {
	if lastTerm != term {
		return lastTerm > term
	}
	return lastIndex >= index
}

// DecideVote is rule DecideVote: it judges ballot b against voter v.
//
// A ballot of an older term changes nothing and is refused. A later term
// is adopted first (with no vote, a step down and a cancelled catchup).
// The vote is granted when the voter is free (no vote in the term, or the
// same candidate again) and the candidate's log covers the voter's. A
// refused voter that is still free and is neither a candidate nor a
// follower of this term's leader campaigns soon, since its log is ahead.
func DecideVote(v Voter, b Ballot) VoteVerdict {
	out := VoteVerdict{Term: v.Term, Vote: v.Vote, Empty: v.LastIndex == 0}
	if b.Term < v.Term {
		return out
	}
	role := v.Role
	// A follower that already has this term's leader: the candidate lost,
	// its ballot merely arrived after the winner's first append entry.
	settled := b.Term == v.Term && role == Follower && v.Leader != ""
	if b.Term > v.Term {
		out.StepDown = role != Follower
		out.CancelCatchup = true
		out.Term, out.Vote = b.Term, ""
		role = Follower
	}
	free := out.Vote == "" || out.Vote == b.Candidate
	switch {
	case v.Abstain:
		out.Empty = true
	case free && v.Initializing:
		// An empty new member counts as having a log, so that a
		// candidate it votes for needs a quorum, not everybody.
		out.Empty = false
	}
	if free && logCovers(b.LastTerm, b.LastIndex, v.LastTerm, v.LastIndex) {
		out.Granted, out.Vote, out.RestartTimer = true, b.Candidate, true
	} else {
		out.CampaignSoon = out.Vote == "" && role != Candidate && !settled
	}
	out.Persist = out.Term != v.Term || out.Vote != v.Vote
	return out
}

// VoteReply is a voter's answer as the candidate receives it.
type VoteReply struct {
	Term    uint64
	Peer    string
	Granted bool
	Empty   bool
}

// ReplyVerdict says what a vote reply means to a node in role at term.
type ReplyVerdict struct {
	Count    bool // a vote for us in this election: record it in the Tally
	StepDown bool // someone is in a later term: stop campaigning or leading
	// AdoptTerm: a candidate takes the later term (with no vote) before it
	// steps down; a leader steps down in its own term, as the reference does.
	AdoptTerm bool
}

// JudgeVoteReply is rule JudgeVoteReply. Only a candidate counts votes,
// and only granted ones of its own term; a later term makes a candidate
// or a leader step down; everything else is stale and ignored.
func JudgeVoteReply(role Role, term uint64, r VoteReply) ReplyVerdict {
	active := role == Candidate || role == Leader
	switch {
	case !active:
		return ReplyVerdict{}
	case r.Term > term:
		return ReplyVerdict{StepDown: true, AdoptTerm: role == Candidate}
	case role == Candidate && r.Granted && r.Term == term:
		return ReplyVerdict{Count: true}
	}
	return ReplyVerdict{}
}

// Tally collects the granted votes of one election. The zero value is an
// empty tally; a candidate starts a new one for every election.
type Tally struct {
	hasLog map[string]bool // voter -> it voted with a log
}

// Record counts peer's vote. A peer counts once; once it voted with a log,
// it stays counted with a log.
func (t *Tally) Record(peer string, empty bool) {
	if t.hasLog == nil {
		t.hasLog = make(map[string]bool)
	}
	t.hasLog[peer] = t.hasLog[peer] || !empty
}

// Won is rule ElectionWon: a quorum of votes from voters with a log wins;
// so do votes from the whole cluster, even when some came from empty logs,
// since every member then agreed and none can hold what the candidate lacks.
func (t *Tally) Won(quorum, clusterSize int) bool {
	full := 0
	for _, withLog := range t.hasLog {
		if withLog {
			full++
		}
	}
	return full >= quorum || len(t.hasLog) == clusterSize
}
