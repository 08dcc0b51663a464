package protocol

import (
	"cmp"
	"slices"
	"time"
)

// Member is one member of the group as a leader sees it: how much of the
// leader's log it stored and how long ago it was last heard from. The
// shell computes Age from its clock; the rules only compare durations.
type Member struct {
	ID        string
	Self      bool // the node itself, always counted as heard
	LastIndex uint64
	Age       time.Duration
}

// HeardQuorum is rule HeardQuorum: at least quorum members, the node
// itself included, were heard from within window.
func HeardQuorum(members []Member, window time.Duration, quorum int) bool {
	heard := 0
	for _, m := range members {
		if m.Self || m.Age < window {
			heard++
		}
	}
	return heard > 0 && heard >= quorum
}

// QuorumWatch is what a leader weighs to decide whether it lost its quorum.
type QuorumWatch struct {
	Members []Member
	Window  time.Duration // the lost-quorum interval
	Quorum  int
	// Unprocessed: responses queued but not yet counted. Grew: the
	// cluster grew SinceGrowth ago.
	Unprocessed int
	Grew        bool
	SinceGrowth time.Duration
}

// LostQuorum is rule LostQuorum: a leader gives up when fewer than a
// quorum were heard from within the window. Queued responses, or a
// cluster that grew within the window, make a healthy leader look
// isolated, so either defers the decision.
func LostQuorum(w QuorumWatch) bool {
	if w.Unprocessed > 0 || (w.Grew && w.SinceGrowth < w.Window) {
		return false
	}
	return !HeardQuorum(w.Members, w.Window, w.Quorum)
}

// ahead orders members for succession: most of the log first, then the
// most recently heard, then by ID so that the choice is deterministic.
func ahead(a, b Member) int {
	if c := cmp.Compare(b.LastIndex, a.LastIndex); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Age, b.Age); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// MostCaughtUp is rule MostCaughtUp: the member other than the node itself
// that stored the most of its log, or "" when none stored anything.
func MostCaughtUp(members []Member) string {
	best := Member{}
	for _, m := range members {
		if !m.Self && m.LastIndex > 0 && (best.ID == "" || ahead(m, best) < 0) {
			best = m
		}
	}
	return best.ID
}

// Handover is a leader's decision on a request to step down.
type Handover struct {
	Successor string // the peer to send the leadership transfer to, "" for none
	// PreferredRefused: the caller named a peer that cannot take over
	// (unknown, or not heard from within the health window).
	PreferredRefused bool
}

// ChooseSuccessor is rule ChooseSuccessor: the preferred peer when it is
// healthy (heard from within healthy), or else the healthy peer ahead of
// the others (most log, most recently heard). Naming the node itself, or
// "", is no preference.
func ChooseSuccessor(members []Member, preferred string, healthy time.Duration) Handover {
	fit := make([]Member, 0, len(members))
	named := false
	for _, m := range members {
		if m.Self {
			if m.ID == preferred {
				preferred = ""
			}
			continue
		}
		if m.Age < healthy {
			fit = append(fit, m)
			named = named || m.ID == preferred
		}
	}
	if named {
		return Handover{Successor: preferred}
	}
	out := Handover{PreferredRefused: preferred != ""}
	if len(fit) > 0 {
		out.Successor = slices.MinFunc(fit, ahead).ID
	}
	return out
}

// Health is a node's answer to a health check.
type Health uint8

// Behind: not current. Current: the leader, or a follower with everything
// applied. Lagging: otherwise fine, but applies trail commits.
const Behind, Current, Lagging Health = 0, 1, 2

// Why names the reason a node is not current, in words for its log.
type Why string

// The reasons; WhyNot is no reason, the node is current.
const (
	WhyNot          Why = ""
	WhyClosed       Why = "node is shut down"
	WhyNoCommit     Why = "nothing committed yet"
	WhyLeaderSilent Why = "leader has been silent too long"
	WhyCatchingUp   Why = "catchup running: the commits themselves lag"
	WhyPaused       Why = "applies are paused with commits held back"
	WhyApplying     Why = "applies trail commits"
)

// HealthView is what a health check looks at.
type HealthView struct {
	Role                        Role
	Commit, Applied, HeldCommit uint64 // HeldCommit: the commit when applies were paused
	Paused, CatchingUp          bool
	// FollowsOther: a leader other than the node is known; LeaderSeen: it
	// is among the peers, last heard LeaderAge ago.
	FollowsOther, LeaderSeen bool
	LeaderAge, Heartbeat     time.Duration
}

// JudgeHealth is rule JudgeHealth. A follower is current when it heard
// from its leader within two heartbeats, is not catching up, has no
// commits held back by a pause and applied everything committed. A
// follower that only trails in applies is Lagging: the shell may watch
// whether it is closing the gap (ApplyProgress).
func JudgeHealth(h HealthView) (Health, Why) {
	checks := []struct {
		hit bool
		why Why
	}{
		{h.Role == Closed, WhyClosed},
		{h.Commit == 0, WhyNoCommit},
		{h.Role == Leader, WhyNot},
		{h.FollowsOther && !h.CatchingUp && (!h.LeaderSeen || h.LeaderAge > 2*h.Heartbeat), WhyLeaderSilent},
		{h.CatchingUp, WhyCatchingUp},
		{h.Paused && h.HeldCommit > h.Commit, WhyPaused},
		{h.Commit != h.Applied, WhyApplying},
	}
	for _, c := range checks {
		switch {
		case !c.hit:
		case c.why == WhyNot:
			return Current, WhyNot
		case c.why == WhyApplying:
			return Lagging, WhyApplying
		default:
			return Behind, c.why
		}
	}
	return Current, WhyNot
}

// ApplyProgress is rule ApplyProgress: a lagging node is making progress
// when the gap between commit and applied shrank since the check began.
func ApplyProgress(startGap, gap uint64) bool { return gap < startGap }
