package protocol

// ChangeKind is a membership change: a peer joins or leaves.
type ChangeKind uint8

const (
	AddPeer ChangeKind = iota + 1
	RemovePeer
)

// ChangeRequest is a proposed membership change as the node sees it.
type ChangeRequest struct {
	Kind ChangeKind
	// This node leads (and, for a forwarded request, applied its term's
	// first entries); its log refused a write and takes nothing more.
	Leading, WriteFailed bool
	// The index of the uncommitted change, 0 when none.
	Pending uint64
	// The peer set's size, the leader included.
	Peers int
}

// ChangeVerdict says whether a membership change may start.
type ChangeVerdict uint8

const (
	// ChangeAllowed: the change goes into the log.
	ChangeAllowed ChangeVerdict = iota + 1
	// ChangeNotLeader: only the leader starts changes; a follower
	// forwards removals and refuses the rest.
	ChangeNotLeader
	// ChangeWriteFailed: the log cannot take the entry.
	ChangeWriteFailed
	// ChangePending: another change is in the log but uncommitted. One at
	// a time keeps every two consecutive memberships overlapping in a
	// majority, so no two leaders can be elected by disjoint quorums.
	ChangePending
	// ChangeLastPeer: removing the only peer would leave no group.
	ChangeLastPeer
)

// MayChange decides whether a membership change may start; the first
// reason that applies wins, in the order of the verdicts above.
func MayChange(r ChangeRequest) ChangeVerdict {
	switch {
	case !r.Leading:
		return ChangeNotLeader
	case r.WriteFailed:
		return ChangeWriteFailed
	case r.Pending > 0:
		return ChangePending
	case r.Kind == RemovePeer && r.Peers <= 1:
		return ChangeLastPeer
	}
	return ChangeAllowed
}

// Settle returns the pending change index once index is committed: a
// change at or below index is settled (0), a later one still pends.
func Settle(pending, index uint64) uint64 {
	if pending > 0 && pending <= index {
		return 0
	}
	return pending
}

// Resize is the cluster that follows from a new count of known peers.
type Resize struct {
	Size, Quorum int
	// Grew: new members must be heard from before quorum is judged.
	// Shrank: a smaller quorum may already cover pending entries.
	Grew, Shrank bool
}

// ResizeTo is the cluster after the known peers became known (us
// included), from a cluster of size prev.
func ResizeTo(prev, known int) Resize {
	return Resize{Size: known, Quorum: QuorumOf(known), Grew: known > prev, Shrank: known < prev}
}
