package protocol

import (
	"fmt"
	"testing"
)

// expect reports a table row whose result differs from what it wants.
func expect[T comparable](t *testing.T, row string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %+v, want %+v", row, got, want)
	}
}

// follower at term 5 whose log ends at [5:10], commit 8.
var steady = Local{Role: Follower, Term: 5, LastTerm: 5, LastIndex: 10, Commit: 8}

// next is a live entry of term 5 continuing a log that ends at [pt:pi].
func next(pt, pi uint64) Arrival {
	return Arrival{Via: ViaLive, Term: 5, PrevTerm: pt, PrevIndex: pi}
}

func with(l Local, edit func(*Local)) Local {
	edit(&l)
	return l
}

func arrive(a Arrival, edit func(*Arrival)) Arrival {
	edit(&a)
	return a
}

func TestAppendTermCheck(t *testing.T) {
	leader := with(steady, func(l *Local) { l.Role = Leader })
	candidate := with(steady, func(l *Local) { l.Role = Candidate })
	cases := []struct {
		name string
		l    Local
		a    Arrival
		want Verdict
	}{
		{"stale leader refused by a leader", leader, arrive(next(5, 10), func(a *Arrival) { a.Term = 4 }),
			Verdict{Action: Refuse}},
		{"newer leader deposes a leader, term persisted", leader, arrive(next(5, 10), func(a *Arrival) { a.Term = 6 }),
			Verdict{Action: Store, AdoptTerm: 6, Persist: true, StepDown: true}},
		{"twin leader in our term", leader, next(5, 10),
			Verdict{Action: Store, StepDown: true, TwinLeader: true}},
		{"candidate yields to a leader of its term", candidate, next(5, 10),
			Verdict{Action: Store, StepDown: true}},
		{"candidate yields to a newer term", candidate, arrive(next(5, 10), func(a *Arrival) { a.Term = 7 }),
			Verdict{Action: Store, AdoptTerm: 7, Persist: true, StepDown: true}},
		{"candidate ignores an older leader's entry as stale", candidate, arrive(next(5, 10), func(a *Arrival) { a.Term = 4 }),
			Verdict{Action: Refuse}},
		{"follower refuses a stale live entry", steady, arrive(next(5, 10), func(a *Arrival) { a.Term = 3 }),
			Verdict{Action: Refuse}},
		{"follower adopts a newer live term and persists it", steady, arrive(next(5, 10), func(a *Arrival) { a.Term = 6 }),
			Verdict{Action: Store, AdoptTerm: 6, Persist: true}},
		{"catchup entry of an old term carrying the leader's term", with(steady, func(l *Local) { l.CatchingUp, l.WantTerm, l.WantIndex = true, 5, 20 }),
			Arrival{Via: ViaCatchup, Term: 2, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 10}, Verdict{Action: Store}},
		{"catchup newer term adopted but not persisted", with(steady, func(l *Local) { l.CatchingUp, l.WantTerm, l.WantIndex = true, 6, 20 }),
			Arrival{Via: ViaCatchup, Term: 5, LeaderTerm: 6, PrevTerm: 5, PrevIndex: 10}, Verdict{Action: Store, AdoptTerm: 6}},
		{"stale catchup stream dropped", with(steady, func(l *Local) { l.CatchingUp, l.WantIndex = true, 20 }),
			Arrival{Via: ViaCatchup, Term: 4, LeaderTerm: 4, PrevTerm: 5, PrevIndex: 10}, Verdict{Action: Drop}},
		{"old server's catchup (no leader term) below our term continues", with(steady, func(l *Local) { l.CatchingUp, l.WantIndex = true, 20 }),
			Arrival{Via: ViaCatchup, Term: 4, PrevTerm: 5, PrevIndex: 10}, Verdict{Action: Store}},
		{"replay below our term always continues", steady, Arrival{Via: ViaReplay, Term: 2, PrevTerm: 5, PrevIndex: 10},
			Verdict{Action: Store}},
	}
	for _, c := range cases {
		expect(t, c.name, Receive(c.l, c.a), c.want)
	}
}

func TestAppendCatchupGate(t *testing.T) {
	catching := with(steady, func(l *Local) { l.CatchingUp, l.WantTerm, l.WantIndex = true, 5, 14 })
	reached := with(catching, func(l *Local) { l.LastIndex = 14 })
	cases := []struct {
		name string
		l    Local
		a    Arrival
		want Verdict
	}{
		{"live entry past our log held during catchup", catching, next(5, 15), Verdict{Action: Hold}},
		{"live entry continuing our log ends the catchup and is stored", catching, next(5, 10),
			Verdict{Action: Store, EndCatchup: true}},
		{"catchup reached its target: ended, then the live gap asks again", reached, next(5, 16),
			Verdict{Action: AskCatchup, EndCatchup: true}},
		{"catchup entry continuing our log stored", catching, Arrival{Via: ViaCatchup, Term: 5, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 10},
			Verdict{Action: Store}},
		{"catchup entry past our log must be the snapshot", catching, Arrival{Via: ViaCatchup, Term: 5, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 12},
			Verdict{Action: InstallSnapshot}},
		{"left-behind stream entry behind our log dropped", steady, Arrival{Via: ViaOldCatchup, Term: 5, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 9},
			Verdict{Action: Drop}},
		{"left-behind stream from an old server dropped", steady, Arrival{Via: ViaOldCatchup, Term: 5, PrevTerm: 5, PrevIndex: 10},
			Verdict{Action: Drop}},
		{"left-behind stream entry continuing our log stored", steady, Arrival{Via: ViaOldCatchup, Term: 5, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 10},
			Verdict{Action: Store}},
		{"catchup snapshot we already installed dropped", catching, Arrival{Via: ViaCatchup, Term: 5, LeaderTerm: 5, PrevTerm: 5, PrevIndex: 10, Snapshot: true},
			Verdict{Action: Drop}},
	}
	for _, c := range cases {
		expect(t, c.name, Receive(c.l, c.a), c.want)
	}
}

func TestAppendLogMatch(t *testing.T) {
	cases := []struct {
		name string
		a    Arrival
		want Action
	}{
		{"heartbeat at our last entry", next(5, 10), Store},
		{"gap ahead of our log", next(5, 13), AskCatchup},
		{"same index, other term", next(4, 10), Overlap},
		{"behind our last entry", next(5, 7), Overlap},
		{"behind our commit", next(3, 2), Overlap},
	}
	for _, c := range cases {
		expect(t, c.name, Receive(steady, c.a).Action, c.want)
	}
}

func TestAppendReconcile(t *testing.T) {
	cases := []struct {
		name string
		l    Local
		a    Arrival
		h    Held
		want Repair
	}{
		{"entry behind commit: already held", steady, next(4, 7), Held{}, Repair{Covered: true}},
		{"a follower past the leader's commit keeps what matches and cuts the rest", steady, next(5, 9),
			Held{Found: true, Term: 5, PrevTerm: 5, PrevIndex: 8}, Repair{Truncate: true, Term: 5, Index: 9, Resume: true}},
		{"late copy of an entry we hold: nothing cut", steady, next(5, 9),
			Held{Found: true, Term: 5, PrevTerm: 5, PrevIndex: 8, HasNext: true, NextTerm: 5}, Repair{Covered: true}},
		{"our entry after pindex conflicts: cut back to pindex and store", steady, next(5, 9),
			Held{Found: true, Term: 5, PrevTerm: 5, PrevIndex: 8, HasNext: true, NextTerm: 4}, Repair{Truncate: true, Term: 5, Index: 9, Resume: true}},
		{"mismatch at pindex: our entry and what follows go", steady, next(5, 9),
			Held{Found: true, Term: 4, PrevTerm: 4, PrevIndex: 8}, Repair{Truncate: true, Term: 4, Index: 8}},
		{"last entry of another term: take the leader's", with(steady, func(l *Local) { l.LastTerm = 4 }), next(5, 10),
			Held{}, Repair{Truncate: true, Term: 5, Index: 10}},
		{"live redelivery of an entry handled before", steady, next(5, 9), Held{}, Repair{Covered: true}},
		{"previous entry is our snapshot's last", steady, arrive(next(3, 9), func(a *Arrival) { a.Via = ViaCatchup; a.LeaderTerm = 5 }),
			Held{SnapTerm: 3, SnapIndex: 9}, Repair{Truncate: true, Term: 3, Index: 9, Resume: true}},
		{"nothing to go on: reset", steady, arrive(next(3, 9), func(a *Arrival) { a.Via = ViaCatchup; a.LeaderTerm = 5 }),
			Held{}, Repair{Reset: true}},
		{"no snapshot at index zero: reset", with(steady, func(l *Local) { l.Commit = 0 }), arrive(next(3, 0), func(a *Arrival) { a.Via = ViaCatchup; a.LeaderTerm = 5 }),
			Held{}, Repair{Reset: true}},
	}
	for _, c := range cases {
		expect(t, c.name, Reconcile(c.l, c.a, c.h), c.want)
	}
}

func TestAppendReask(t *testing.T) {
	cases := []struct {
		held    int
		stalled bool
		want    bool
	}{{0, false, false}, {ReaskAfter - 1, false, false}, {ReaskAfter, false, true}, {1, true, true}}
	for _, c := range cases {
		expect(t, fmt.Sprintf("Reask(%d, %v)", c.held, c.stalled), Reask(c.held, c.stalled), c.want)
	}
}

func TestAppendCatchupAck(t *testing.T) {
	reached := with(steady, func(l *Local) { l.CatchingUp, l.WantTerm, l.WantIndex = true, 5, 10 })
	short := with(reached, func(l *Local) { l.WantIndex = 12 })
	stream := Arrival{Via: ViaCatchup, Term: 4, LeaderTerm: 5, PrevTerm: 4, PrevIndex: 9}
	cases := []struct {
		name string
		l    Local
		a    Arrival
		want bool
	}{
		{"target reached by the current stream of our term", reached, stream, true},
		{"target not reached yet", short, stream, false},
		{"stream of an older leader", reached, arrive(stream, func(a *Arrival) { a.LeaderTerm = 4 }), false},
		{"old server's stream without a leader term", reached, arrive(stream, func(a *Arrival) { a.LeaderTerm = 0 }), false},
		{"a stream we left", reached, arrive(stream, func(a *Arrival) { a.Via = ViaOldCatchup }), false},
		{"live entries are acked by Store itself", reached, arrive(stream, func(a *Arrival) { a.Via = ViaLive }), false},
		{"not catching up", steady, stream, false},
	}
	for _, c := range cases {
		expect(t, c.name, AckCatchup(c.l, c.a), c.want)
	}
}

func TestAppendAnswer(t *testing.T) {
	cases := []struct {
		name string
		r    Reply
		want Reaction
	}{
		{"success counts whatever its term", Reply{Success: true, Term: 9, Index: 4}, CountAck},
		{"failure with an inbox asks for entries", Reply{Term: 3, Index: 4, Inbox: true}, ServeGap},
		{"refusal with a newer term", Reply{Term: 6}, YieldTerm},
		{"refusal of our own term", Reply{Term: 5}, Ignore},
		{"refusal of an older term", Reply{Term: 2}, Ignore},
	}
	for _, c := range cases {
		expect(t, c.name, Answer(5, c.r), c.want)
	}
}

func TestAppendResend(t *testing.T) {
	log := Log{FirstIndex: 5, LastIndex: 100, Entries: 96}
	cases := []struct {
		name  string
		index uint64
		g     Log
		want  Plan
	}{
		{"short gap re-sent at once", 97, log, Plan{Resend: true, From: 98, To: 100}},
		{"gap from our first entry", 4, log, Plan{Resend: true, From: 5, To: 100}},
		{"behind our first entry: snapshot via catchup", 3, log, Plan{}},
		{"follower claims our last entry: catchup decides", 100, log, Plan{}},
		{"follower claims more than we have", 120, log, Plan{}},
		{"long gap streamed", 1, Log{FirstIndex: 1, LastIndex: 1 + ResendLimit + 1, Entries: ResendLimit + 1}, Plan{}},
		{"longest gap re-sent", 1, Log{FirstIndex: 1, LastIndex: 1 + ResendLimit, Entries: ResendLimit + 1}, Plan{Resend: true, From: 2, To: 1 + ResendLimit}},
		{"stream already running", 97, Log{FirstIndex: 5, LastIndex: 100, Entries: 96, Streaming: true}, Plan{}},
		{"empty log", 0, Log{}, Plan{}},
	}
	for _, c := range cases {
		expect(t, c.name, Resend(c.index, c.g), c.want)
	}
}
