package protocol

// This file holds the append-entry rules: what a node does with an
// append entry it receives (Receive, then Reconcile when the entry starts
// inside its log), and what a leader does with a follower's answer
// (Answer, then Resend for a follower that asks for entries).

// Via says which channel delivered an append entry: ViaReplay is our own
// log read back at startup, ViaLive the leader's live broadcast,
// ViaCatchup the catchup stream we follow now and ViaOldCatchup one we no
// longer follow.
type Via uint8

// The channels.
const ViaReplay, ViaLive, ViaCatchup, ViaOldCatchup Via = 0, 1, 2, 3

// Local is the part of the receiving node's state the append rules read.
type Local struct {
	Role                      Role
	Term, LastTerm, LastIndex uint64
	Commit                    uint64
	// CatchingUp is set while a catchup runs; WantTerm and WantIndex are
	// the position it must reach.
	CatchingUp          bool
	WantTerm, WantIndex uint64
}

// Arrival is what the append rules read of an incoming append entry.
type Arrival struct {
	Via Via
	// Term is the entry's term; LeaderTerm, when nonzero, is the sending
	// leader's current term (catchup entries of older terms carry it).
	Term, LeaderTerm    uint64
	PrevTerm, PrevIndex uint64
	// Snapshot marks a catchup's first message: a snapshot plus the
	// leader's peer state.
	Snapshot bool
}

// senderTerm is the term the sender speaks for.
func (a Arrival) senderTerm() uint64 {
	if a.LeaderTerm != 0 {
		return a.LeaderTerm
	}
	return a.Term
}

// follows reports whether a continues a log that ends at (term, index).
func (a Arrival) follows(term, index uint64) bool {
	return a.PrevTerm == term && a.PrevIndex == index
}

// Action is what to do with an incoming append entry:
//   - Drop: nothing to store, nothing to answer;
//   - Refuse: answer a failure carrying our term, the sender is stale;
//   - Hold: a live entry during a catchup: drop it, ask again if the
//     catchup stalled (Reask);
//   - Store: the entry continues our log: store it, apply its commit, ack
//     it if live;
//   - Overlap: the entry starts inside our log: repair it with Reconcile;
//   - AskCatchup: our log ends before the entry starts, ask for a catchup;
//   - InstallSnapshot: the first message of our catchup starts past our
//     log, it must be the leader's snapshot.
type Action uint8

// The actions.
const Drop, Refuse, Hold, Store, Overlap, AskCatchup, InstallSnapshot Action = 0, 1, 2, 3, 4, 5, 6

var actionNames = [...]string{"drop", "refuse", "hold", "store", "overlap", "ask-catchup", "install-snapshot"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action?"
}

// Verdict is the decision on an incoming append entry. The shell applies
// the term change first (persisting it when Persist is set), then steps
// down if asked, cancels the catchup if asked, then carries out Action.
//
// AdoptTerm, when nonzero, is a newer term to take on (clearing the vote);
// Persist asks for term and vote to reach disk. StepDown: stop leading or
// campaigning and follow the sender. TwinLeader: another leader claims our
// own term (a protocol fault). EndCatchup: the catchup is over, cancel it
// before Action.
type Verdict struct {
	Action                                    Action
	AdoptTerm                                 uint64
	Persist, StepDown, TwinLeader, EndCatchup bool
}

// Receive decides what a node does with an append entry. Rule
// AppendTermCheck covers the terms, AppendCatchupGate the catchup and
// AppendLogMatch the log position.
func Receive(l Local, a Arrival) Verdict {
	var v Verdict
	from := a.senderTerm()
	live := a.Via == ViaLive

	// AppendTermCheck: a leader or candidate meets a leader.
	switch {
	case l.Role == Leader && from < l.Term:
		v.Action = Refuse
		return v
	case l.Role == Leader:
		v.StepDown, v.TwinLeader = true, from == l.Term
	case l.Role == Candidate && from >= l.Term:
		v.StepDown = true
	}
	if v.StepDown {
		if from > l.Term {
			v.AdoptTerm, v.Persist = from, true
			l.Term = from
		}
		l.Role = Follower
	}

	// A stream we left behind may only continue our log, and only if its
	// leader says which term it speaks for.
	if a.Via == ViaOldCatchup && (a.LeaderTerm == 0 || a.PrevIndex < l.LastIndex) {
		v.Action = Drop
		return v
	}

	switch {
	case from > l.Term:
		v.AdoptTerm = from
		v.Persist = v.Persist || live
		v.StepDown = v.StepDown || l.Role != Follower
	case from < l.Term && a.Via != ViaReplay && (live || a.LeaderTerm != 0):
		v.Action = Drop
		if live {
			v.Action = Refuse
		}
		return v
	}

	// AppendCatchupGate.
	if l.CatchingUp {
		reached := l.LastTerm >= l.WantTerm && l.LastIndex >= l.WantIndex
		contiguous := live && a.follows(l.LastTerm, l.LastIndex)
		switch {
		case reached || contiguous:
			v.EndCatchup, l.CatchingUp = true, false
		case live:
			v.Action = Hold
			return v
		}
	}

	// AppendLogMatch.
	switch {
	case !a.follows(l.LastTerm, l.LastIndex) && a.PrevIndex <= l.LastIndex:
		v.Action = Overlap
	case !a.follows(l.LastTerm, l.LastIndex) && l.CatchingUp:
		v.Action = InstallSnapshot
	case !a.follows(l.LastTerm, l.LastIndex):
		v.Action = AskCatchup
	case a.Snapshot && a.Via != ViaReplay && !live:
		// A catchup snapshot that starts where our log ends is one we
		// installed already; stored, it would be applied again.
		v.Action = Drop
	default:
		v.Action = Store
	}
	return v
}

// Held is what Reconcile reads of our log at the entry's previous index.
type Held struct {
	// Found: our log has an entry at the previous index, of term Term,
	// itself following the entry at (PrevTerm, PrevIndex).
	Found                     bool
	Term, PrevTerm, PrevIndex uint64
	// HasNext: our log also has the entry after it, of term NextTerm.
	HasNext  bool
	NextTerm uint64
	// SnapTerm and SnapIndex are our last snapshot's position (zero when
	// there is none).
	SnapTerm, SnapIndex uint64
}

// Repair is how Reconcile brings our log in line with the leader's.
type Repair struct {
	// Truncate cuts the log back so that it ends at (Term, Index); Reset
	// empties it. Neither: leave the log as it is.
	Truncate, Reset bool
	Term, Index     uint64
	// Resume: once the log ends at the entry's previous position, store
	// the entry as Store would.
	Resume bool
	// Covered: we already hold what the entry builds on; keep any catchup.
	Covered bool
}

// Reconcile decides, for an entry whose previous position is at or before
// our last entry but is not it, how to repair our log. Rule
// AppendReconcile. Entries that do not Resume get no answer: a success
// would count towards a quorum for a log we do not hold, and a failure
// tells the leader nothing new.
func Reconcile(l Local, a Arrival, h Held) Repair {
	switch {
	case a.PrevIndex < l.Commit:
		return Repair{Covered: true}
	case h.Found && h.Term == a.PrevTerm && h.HasNext && h.NextTerm == a.Term:
		// We hold this very entry (same index, same term): a duplicate
		// or a late copy. Cutting the log back to it would drop entries
		// we may have acknowledged.
		return Repair{Covered: true}
	case h.Found && h.Term == a.PrevTerm:
		return Repair{Truncate: true, Term: a.PrevTerm, Index: a.PrevIndex, Resume: true}
	case h.Found:
		// Our entry there belongs to another term: it goes, with all after it.
		return Repair{Truncate: true, Term: h.PrevTerm, Index: h.PrevIndex}
	case a.PrevTerm == l.LastTerm && a.Via == ViaLive:
		// Handled before, e.g. redelivered around a restart that raced a
		// snapshot.
		return Repair{Covered: true}
	case a.PrevIndex == l.LastIndex:
		// Only the terms differ: take the leader's.
		return Repair{Truncate: true, Term: a.PrevTerm, Index: a.PrevIndex}
	case h.SnapIndex == a.PrevIndex && h.SnapTerm == a.PrevTerm && h.SnapIndex != 0:
		return Repair{Truncate: true, Term: h.SnapTerm, Index: h.SnapIndex, Resume: true}
	}
	return Repair{Reset: true}
}

// ReaskAfter is how many live entries a follower holds back while its
// catchup makes no progress before it asks the leader again: its request,
// or the first entries answering it, were probably lost.
const ReaskAfter = 4

// Reask decides whether a follower holding a live entry asks for its
// catchup again: held live entries arrived since its log last grew, and
// stalled tells whether the catchup's own inactivity timer ran out. Rule
// AppendReask.
func Reask(held int, stalled bool) bool {
	return stalled || held >= ReaskAfter
}

// AckCatchup decides whether a catchup entry just stored is acknowledged:
// only one of the stream we follow, from a leader of our own term, that
// brought our log to the catchup's target. Its previous entry matched
// ours, so our log holds the leader's up to it, and the leader learns at
// once that the gap is filled instead of on the next live entry. l is our
// state after the store. Rule AppendCatchupAck.
func AckCatchup(l Local, a Arrival) bool {
	return a.Via == ViaCatchup && a.LeaderTerm == l.Term && l.CatchingUp &&
		l.LastTerm >= l.WantTerm && l.LastIndex >= l.WantIndex
}

// Leader side.

// Reply is what the leader reads of a follower's append-entry response.
type Reply struct {
	Success bool
	// Term is the follower's last log term on a catchup request, its
	// current term on a refusal.
	Term, Index uint64
	// Inbox: the follower asks to be caught up there.
	Inbox bool
}

// Reaction is what the leader does with a response: Ignore it, CountAck
// (the follower stored up to Index: count it towards commit), ServeGap
// (the follower misses the entries after Index: plan with Resend) or
// YieldTerm (a newer term exists: adopt it and stop leading).
type Reaction uint8

// The reactions.
const Ignore, CountAck, ServeGap, YieldTerm Reaction = 0, 1, 2, 3

// Answer decides what a leader at term does with a response. Rule
// AppendAnswer.
func Answer(term uint64, r Reply) Reaction {
	switch {
	case r.Success:
		return CountAck
	case r.Inbox:
		return ServeGap
	case r.Term > term:
		return YieldTerm
	}
	return Ignore
}

// Log is what Resend reads of the leader's log.
type Log struct {
	FirstIndex, LastIndex, Entries uint64
	// Streaming: a catchup stream already runs for this follower.
	Streaming bool
}

// ResendLimit is the most entries a leader re-sends in one go, from its
// log, to a follower that missed some; a follower further behind gets a
// paced catchup stream.
const ResendLimit = 256

// Plan is how a leader serves a follower that asks for entries after an
// index: From..To re-sent at once, or a catchup stream.
type Plan struct {
	Resend   bool
	From, To uint64
}

// Resend decides whether a follower whose log ends at index can be served
// by re-sending the entries it lacks straight away. Rule AppendResend.
// Anything else (a follower behind our first entry, a long gap, one
// already being streamed to, one claiming entries we lack) goes to the
// catchup stream, which paces itself and ships a snapshot when needed.
func Resend(index uint64, g Log) Plan {
	from := index + 1
	ok := !g.Streaming && g.Entries > 0 &&
		from >= g.FirstIndex && from <= g.LastIndex &&
		g.LastIndex-index <= ResendLimit
	if !ok {
		return Plan{}
	}
	return Plan{Resend: true, From: from, To: g.LastIndex}
}
