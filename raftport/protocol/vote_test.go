package protocol

import "testing"

func TestDecideVote(t *testing.T) {
	// base: a follower in term 5 without a vote or leader, log at (4, 10).
	base := Voter{Term: 5, LastTerm: 4, LastIndex: 10, Role: Follower}
	ballot := Ballot{Term: 5, LastTerm: 4, LastIndex: 10, Candidate: "C"}
	with := func(f func(*Voter)) Voter { v := base; f(&v); return v }
	ask := func(f func(*Ballot)) Ballot { b := ballot; f(&b); return b }

	cases := []struct {
		name string
		v    Voter
		b    Ballot
		want VoteVerdict
	}{
		{"equal log, same term, free: granted and vote persisted", base, ballot,
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Persist: true, RestartTimer: true}},
		{"stale term: refused, nothing changes, no early campaign", base, ask(func(b *Ballot) { b.Term = 4; b.LastTerm = 9 }),
			VoteVerdict{Term: 5}},
		{"stale term from a leader: no step down", with(func(v *Voter) { v.Role = Leader }), ask(func(b *Ballot) { b.Term = 3 }),
			VoteVerdict{Term: 5}},
		{"shorter log in the same last term: refused, campaign soon", base, ask(func(b *Ballot) { b.LastIndex = 9 }),
			VoteVerdict{Term: 5, CampaignSoon: true}},
		{"older last term, longer log: refused", base, ask(func(b *Ballot) { b.LastTerm = 3; b.LastIndex = 50 }),
			VoteVerdict{Term: 5, CampaignSoon: true}},
		{"newer last term, shorter log: granted", base, ask(func(b *Ballot) { b.LastTerm = 5; b.LastIndex = 1 }),
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Persist: true, RestartTimer: true}},
		{"already voted for another: refused, no early campaign", with(func(v *Voter) { v.Vote = "B" }), ballot,
			VoteVerdict{Term: 5, Vote: "B"}},
		{"already voted for this candidate: granted again, nothing to persist", with(func(v *Voter) { v.Vote = "C" }), ballot,
			VoteVerdict{Term: 5, Vote: "C", Granted: true, RestartTimer: true}},
		{"later term: adopted and persisted before the grant", with(func(v *Voter) { v.Vote = "B" }), ask(func(b *Ballot) { b.Term = 7 }),
			VoteVerdict{Term: 7, Vote: "C", Granted: true, Persist: true, CancelCatchup: true, RestartTimer: true}},
		{"later term, older log: term persisted, vote refused", with(func(v *Voter) { v.Vote = "B" }), ask(func(b *Ballot) { b.Term = 7; b.LastIndex = 2 }),
			VoteVerdict{Term: 7, Persist: true, CancelCatchup: true, CampaignSoon: true}},
		{"later term makes a leader step down", with(func(v *Voter) { v.Role = Leader; v.Vote = "A" }), ask(func(b *Ballot) { b.Term = 6 }),
			VoteVerdict{Term: 6, Vote: "C", Granted: true, Persist: true, StepDown: true, CancelCatchup: true, RestartTimer: true}},
		{"later term: a refusing candidate steps down and then campaigns soon", with(func(v *Voter) { v.Role = Candidate; v.Vote = "A" }), ask(func(b *Ballot) { b.Term = 6; b.LastTerm = 1 }),
			VoteVerdict{Term: 6, Persist: true, StepDown: true, CancelCatchup: true, CampaignSoon: true}},
		{"same term candidate that voted for itself refuses without campaigning", with(func(v *Voter) { v.Role = Candidate; v.Vote = "A" }), ballot,
			VoteVerdict{Term: 5, Vote: "A"}},
		{"free candidate with a longer log does not restart itself", with(func(v *Voter) { v.Role = Candidate }), ask(func(b *Ballot) { b.LastIndex = 1 }),
			VoteVerdict{Term: 5}},
		{"follower of this term's leader refuses without campaigning", with(func(v *Voter) { v.Leader = "L" }), ask(func(b *Ballot) { b.LastIndex = 1 }),
			VoteVerdict{Term: 5}},
		{"empty log answers empty", with(func(v *Voter) { v.LastTerm, v.LastIndex = 0, 0 }), ballot,
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Empty: true, Persist: true, RestartTimer: true}},
		{"empty but initializing counts as a log", with(func(v *Voter) { v.LastTerm, v.LastIndex, v.Initializing = 0, 0, true }), ballot,
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Persist: true, RestartTimer: true}},
		{"initializing but not free: still empty", with(func(v *Voter) { v.LastTerm, v.LastIndex, v.Initializing, v.Vote = 0, 0, true, "B" }), ballot,
			VoteVerdict{Term: 5, Vote: "B", Empty: true}},
		{"abstaining voter answers empty even with a log", with(func(v *Voter) { v.Abstain = true }), ballot,
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Empty: true, Persist: true, RestartTimer: true}},
		{"stale term answers the plain empty flag", with(func(v *Voter) { v.LastIndex, v.Abstain = 0, true }), ask(func(b *Ballot) { b.Term = 1 }),
			VoteVerdict{Term: 5, Empty: true}},
		{"longer candidate log: granted", base, ask(func(b *Ballot) { b.LastIndex = 11 }),
			VoteVerdict{Term: 5, Vote: "C", Granted: true, Persist: true, RestartTimer: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DecideVote(c.v, c.b); got != c.want {
				t.Fatalf("DecideVote(%+v, %+v)\n got %+v\nwant %+v", c.v, c.b, got, c.want)
			}
		})
	}
}

func TestJudgeVoteReply(t *testing.T) {
	cases := []struct {
		name string
		role Role
		term uint64
		r    VoteReply
		want ReplyVerdict
	}{
		{"candidate counts a granted vote of its term", Candidate, 4, VoteReply{Term: 4, Granted: true}, ReplyVerdict{Count: true}},
		{"candidate ignores a refusal of its term", Candidate, 4, VoteReply{Term: 4}, ReplyVerdict{}},
		{"candidate ignores a grant of an older term", Candidate, 4, VoteReply{Term: 3, Granted: true}, ReplyVerdict{}},
		{"candidate adopts a later term and steps down", Candidate, 4, VoteReply{Term: 9}, ReplyVerdict{StepDown: true, AdoptTerm: true}},
		{"candidate steps down on a later term even when granted", Candidate, 4, VoteReply{Term: 5, Granted: true}, ReplyVerdict{StepDown: true, AdoptTerm: true}},
		{"leader steps down on a later term in its own term", Leader, 4, VoteReply{Term: 5}, ReplyVerdict{StepDown: true}},
		{"leader ignores late grants", Leader, 4, VoteReply{Term: 4, Granted: true}, ReplyVerdict{}},
		{"follower ignores everything", Follower, 4, VoteReply{Term: 9, Granted: true}, ReplyVerdict{}},
		{"closed ignores everything", Closed, 4, VoteReply{Term: 9}, ReplyVerdict{}},
	}
	for _, c := range cases {
		if got := JudgeVoteReply(c.role, c.term, c.r); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestElectionWon(t *testing.T) {
	type vote struct {
		peer  string
		empty bool
	}
	cases := []struct {
		name          string
		votes         []vote
		quorum, csize int
		want          bool
	}{
		{"no votes", nil, 2, 3, false},
		{"own vote alone in a 3-group", []vote{{"A", false}}, 2, 3, false},
		{"quorum of logs wins", []vote{{"A", false}, {"B", false}}, 2, 3, true},
		{"single-node group", []vote{{"A", false}}, 1, 1, true},
		{"empty votes do not make a quorum", []vote{{"A", false}, {"B", true}}, 2, 3, false},
		{"every member voting wins even when empty", []vote{{"A", false}, {"B", true}, {"C", true}}, 2, 3, true},
		{"all empty, all voted", []vote{{"A", true}, {"B", true}, {"C", true}}, 2, 3, true},
		{"a repeated vote counts once", []vote{{"A", false}, {"A", false}, {"B", true}}, 2, 3, false},
		{"a voter once with a log stays with a log", []vote{{"A", false}, {"B", false}, {"B", true}}, 2, 3, true},
		{"5-group needs three logs", []vote{{"A", false}, {"B", false}, {"C", true}, {"D", true}}, 3, 5, false},
	}
	for _, c := range cases {
		var tally Tally
		for _, v := range c.votes {
			tally.Record(v.peer, v.empty)
		}
		if got := tally.Won(c.quorum, c.csize); got != c.want {
			t.Errorf("%s: Won = %v, want %v", c.name, got, c.want)
		}
	}
}
