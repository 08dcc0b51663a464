package protocol

import (
	"testing"
	"time"
)

const (
	sec    = time.Second
	window = 10 * sec
)

func self(id string) Member { return Member{ID: id, Self: true, Age: time.Hour} }

func peer(id string, last uint64, age time.Duration) Member {
	return Member{ID: id, LastIndex: last, Age: age}
}

func TestHeardQuorum(t *testing.T) {
	cases := []struct {
		name    string
		members []Member
		quorum  int
		want    bool
	}{
		{"no members", nil, 1, false},
		{"self alone in a 1-group", []Member{self("A")}, 1, true},
		{"self counts whatever its age", []Member{self("A"), peer("B", 0, sec)}, 2, true},
		{"silent peers do not count", []Member{self("A"), peer("B", 0, window), peer("C", 0, time.Hour)}, 2, false},
		{"one recent peer of two", []Member{self("A"), peer("B", 0, window-1), peer("C", 0, time.Hour)}, 2, true},
		{"5-group with two recent peers", []Member{self("A"), peer("B", 0, sec), peer("C", 0, sec), peer("D", 0, time.Hour), peer("E", 0, time.Hour)}, 3, true},
		{"5-group with one recent peer", []Member{self("A"), peer("B", 0, sec), peer("C", 0, window), peer("D", 0, time.Hour), peer("E", 0, time.Hour)}, 3, false},
		{"self not listed: only peers count", []Member{peer("B", 0, sec)}, 2, false},
	}
	for _, c := range cases {
		if got := HeardQuorum(c.members, window, c.quorum); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLostQuorum(t *testing.T) {
	isolated := []Member{self("A"), peer("B", 0, time.Hour), peer("C", 0, time.Hour)}
	healthy := []Member{self("A"), peer("B", 0, sec), peer("C", 0, time.Hour)}
	cases := []struct {
		name string
		w    QuorumWatch
		want bool
	}{
		{"isolated leader loses quorum", QuorumWatch{Members: isolated, Window: window, Quorum: 2}, true},
		{"one recent follower keeps it", QuorumWatch{Members: healthy, Window: window, Quorum: 2}, false},
		{"queued responses defer the decision", QuorumWatch{Members: isolated, Window: window, Quorum: 2, Unprocessed: 1}, false},
		{"a recent growth defers the decision", QuorumWatch{Members: isolated, Window: window, Quorum: 2, Grew: true, SinceGrowth: window - 1}, false},
		{"an old growth does not", QuorumWatch{Members: isolated, Window: window, Quorum: 2, Grew: true, SinceGrowth: window}, true},
		{"a zero growth time without growth does not defer", QuorumWatch{Members: isolated, Window: window, Quorum: 2}, true},
		{"single-node group never loses it", QuorumWatch{Members: []Member{self("A")}, Window: window, Quorum: 1}, false},
	}
	for _, c := range cases {
		if got := LostQuorum(c.w); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMostCaughtUp(t *testing.T) {
	cases := []struct {
		name    string
		members []Member
		want    string
	}{
		{"nobody", nil, ""},
		{"only self", []Member{{ID: "A", Self: true, LastIndex: 9}}, ""},
		{"peers with nothing stored", []Member{self("A"), peer("B", 0, sec)}, ""},
		{"most log wins, self excluded", []Member{{ID: "A", Self: true, LastIndex: 99}, peer("B", 5, sec), peer("C", 7, time.Hour)}, "C"},
		{"tie goes to the most recently heard", []Member{peer("B", 7, 2*sec), peer("C", 7, sec)}, "C"},
		{"full tie goes to the lower ID", []Member{peer("C", 7, sec), peer("B", 7, sec)}, "B"},
	}
	for _, c := range cases {
		if got := MostCaughtUp(c.members); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestChooseSuccessor(t *testing.T) {
	const healthy = 3 * sec
	group := []Member{self("A"), peer("B", 10, sec), peer("C", 12, 2*sec), peer("D", 20, time.Hour)}
	cases := []struct {
		name      string
		members   []Member
		preferred string
		want      Handover
	}{
		{"no preference: healthy peer with most log", group, "", Handover{Successor: "C"}},
		{"healthy preferred peer is taken", group, "B", Handover{Successor: "B"}},
		{"unhealthy preferred peer is refused, another is chosen", group, "D", Handover{Successor: "C", PreferredRefused: true}},
		{"unknown preferred peer is refused", group, "Z", Handover{Successor: "C", PreferredRefused: true}},
		{"naming ourselves is no preference", group, "A", Handover{Successor: "C"}},
		{"nobody healthy: step down without a successor", []Member{self("A"), peer("B", 10, healthy)}, "", Handover{}},
		{"nobody healthy, preferred refused", []Member{self("A"), peer("B", 10, healthy)}, "B", Handover{PreferredRefused: true}},
		{"single-node group", []Member{self("A")}, "", Handover{}},
	}
	for _, c := range cases {
		if got := ChooseSuccessor(c.members, c.preferred, healthy); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestJudgeHealth(t *testing.T) {
	const hb = sec
	follower := HealthView{Role: Follower, Commit: 5, Applied: 5, FollowsOther: true, LeaderSeen: true, LeaderAge: hb, Heartbeat: hb}
	with := func(f func(*HealthView)) HealthView { h := follower; f(&h); return h }
	cases := []struct {
		name   string
		h      HealthView
		health Health
		why    Why
	}{
		{"up-to-date follower", follower, Current, WhyNot},
		{"closed node", with(func(h *HealthView) { h.Role = Closed }), Behind, WhyClosed},
		{"nothing committed", with(func(h *HealthView) { h.Commit, h.Applied = 0, 0 }), Behind, WhyNoCommit},
		{"leader with nothing committed", with(func(h *HealthView) { h.Role, h.Commit = Leader, 0 }), Behind, WhyNoCommit},
		{"leader trailing in applies is current", with(func(h *HealthView) { h.Role, h.Applied = Leader, 1 }), Current, WhyNot},
		{"silent leader", with(func(h *HealthView) { h.LeaderAge = 2*hb + 1 }), Behind, WhyLeaderSilent},
		{"leader heard exactly two heartbeats ago", with(func(h *HealthView) { h.LeaderAge = 2 * hb }), Current, WhyNot},
		{"leader not among the peers", with(func(h *HealthView) { h.LeaderSeen = false }), Behind, WhyLeaderSilent},
		{"no leader known: no contact check", with(func(h *HealthView) { h.FollowsOther, h.LeaderSeen = false, false }), Current, WhyNot},
		{"catching up, even from a silent leader", with(func(h *HealthView) { h.CatchingUp, h.LeaderAge = true, time.Hour }), Behind, WhyCatchingUp},
		{"paused with commits held", with(func(h *HealthView) { h.Paused, h.HeldCommit = true, 9 }), Behind, WhyPaused},
		{"paused without commits held", with(func(h *HealthView) { h.Paused, h.HeldCommit = true, 5 }), Current, WhyNot},
		{"applies trailing", with(func(h *HealthView) { h.Applied = 3 }), Lagging, WhyApplying},
	}
	for _, c := range cases {
		health, why := JudgeHealth(c.h)
		if health != c.health || why != c.why {
			t.Errorf("%s: got (%d, %q), want (%d, %q)", c.name, health, why, c.health, c.why)
		}
	}
}

func TestApplyProgress(t *testing.T) {
	cases := []struct {
		start, now uint64
		want       bool
	}{{5, 4, true}, {5, 5, false}, {5, 7, false}, {1, 0, true}}
	for _, c := range cases {
		if got := ApplyProgress(c.start, c.now); got != c.want {
			t.Errorf("ApplyProgress(%d, %d) = %v, want %v", c.start, c.now, got, c.want)
		}
	}
}
