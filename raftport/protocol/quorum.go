package protocol

// QuorumOf is how many members of a cluster of the given size form a
// majority: more than half of them.
func QuorumOf(size int) int { return size/2 + 1 }

// MinClusterSize is the smallest size an operator may give a group: below
// two, a lone node would be its own quorum while its peers are unknown.
const MinClusterSize = 2

// Sized is the cluster size and quorum a manual adjustment yields; a
// request below MinClusterSize is raised to it.
func Sized(requested int) (size, quorum int) {
	size = max(requested, MinClusterSize)
	return size, QuorumOf(size)
}

// AckVerdict is what a leader makes of a follower's acknowledgement.
type AckVerdict uint8

const (
	// AckCounted: the ack is recorded towards committing its index.
	AckCounted AckVerdict = iota + 1
	// AckNotLeading: the receiver no longer leads; acks mean nothing.
	AckNotLeading
	// AckCommitted: the index is committed already.
	AckCommitted
	// AckBeyondLog: the follower claims an index the leader does not
	// hold; counting it could commit what was never written here.
	AckBeyondLog
	// AckNotMember: the sender is not in the leader's peer set (never
	// added, or removed since).
	AckNotMember
)

// Ack is a follower's acknowledgement as the leader's state sees it.
type Ack struct {
	// The receiver still leads; the sender is in its peer set.
	Leading, Member bool
	// The follower's log holds everything up to Index; the leader's
	// commit and last log index.
	Index, Commit, LastIndex uint64
}

// JudgeAck decides whether an ack counts. The first reason that applies
// wins, in the order of the verdicts above.
func JudgeAck(a Ack) AckVerdict {
	switch {
	case !a.Leading:
		return AckNotLeading
	case a.Index <= a.Commit:
		return AckCommitted
	case a.Index > a.LastIndex:
		return AckBeyondLog
	case !a.Member:
		return AckNotMember
	}
	return AckCounted
}

// Acks holds, per uncommitted index, the peers that stored it. A peer
// counts once per index however often it acknowledges.
type Acks map[uint64]map[string]struct{}

// Record notes that peer stored index and reports whether that is news.
func (a Acks) Record(index uint64, peer string) bool {
	set, ok := a[index]
	if !ok {
		set = make(map[string]struct{}, 4)
		a[index] = set
	}
	if _, dup := set[peer]; dup {
		return false
	}
	set[peer] = struct{}{}
	return true
}

// Votes counts the peers that stored index and are still members. A peer
// removed after it acknowledged no longer counts: the quorum is that of
// the membership now.
func Votes[M any](a Acks, index uint64, members map[string]M) int {
	votes := 0
	for peer := range a[index] {
		if _, in := members[peer]; in {
			votes++
		}
	}
	return votes
}

// CommitQuery is what the commit rule looks at for one acknowledged index.
type CommitQuery struct {
	// Committed so far, the index whose acks are counted, and the
	// leader's last log index.
	Commit, Index, LastIndex uint64
	// Members holding Index (the leader included if it is one), and how
	// many make a quorum.
	Votes, Quorum int
	// The leader's current term, and the term of the entry at Index (0
	// when unknown).
	Term, IndexTerm uint64
}

// CommitTo returns the index the leader may commit through and whether
// the commit index moves. Only an entry of the leader's own term commits
// by counting; entries of earlier terms commit with it, never on their own
// (a later leader could otherwise overwrite them).
func CommitTo(q CommitQuery) (uint64, bool) {
	movable := q.Index > q.Commit && q.Index <= q.LastIndex
	if !movable || q.Votes < q.Quorum || q.IndexTerm != q.Term {
		return q.Commit, false
	}
	return q.Index, true
}
