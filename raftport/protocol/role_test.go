package protocol

import (
	"testing"
	"time"
)

func TestEnter(t *testing.T) {
	always := Transition{ResetTimer: true, PersistTermVote: true}
	follower := always
	follower.ClearLeaderMarks, follower.ClearTransfer, follower.ClearAcks, follower.Leader = true, true, true, LeaderNamed
	candidate := always
	candidate.NextTerm, candidate.Leader = true, LeaderNone
	leader := always
	leader.ClearTransfer, leader.Leader, leader.Announce = true, LeaderSelf, true
	lost := func(t Transition) Transition {
		t.LeadershipChanged, t.SignalLost, t.DropLeaderQueues = true, true, true
		return t
	}
	gained := func(t Transition) Transition {
		t.LeadershipChanged, t.DropPending = true, true
		return t
	}
	cases := []struct {
		from, to Role
		want     Transition
	}{
		{Follower, Follower, follower},
		{Follower, Candidate, candidate},
		{Candidate, Candidate, candidate},
		{Candidate, Follower, follower},
		{Candidate, Leader, gained(leader)},
		{Follower, Leader, gained(leader)},
		{Leader, Follower, lost(follower)},
		{Leader, Candidate, lost(candidate)},
		{Leader, Leader, leader},
		{Closed, Follower, Transition{Refused: true}},
		{Closed, Leader, Transition{Refused: true}},
		{Follower, Closed, always},
		{Leader, Closed, lost(always)},
	}
	for _, c := range cases {
		if got := Enter(c.from, c.to); got != c.want {
			t.Errorf("Enter(%d, %d)\n got %+v\nwant %+v", c.from, c.to, got, c.want)
		}
	}
}

func TestStandForElection(t *testing.T) {
	const window = 10 * time.Second
	cases := []struct {
		name string
		s    Standing
		want Candidacy
	}{
		{"a plain follower stands", Standing{Commit: 3, Processed: 3}, Candidacy{Stand: true}},
		{"an observer retries later", Standing{Observer: true}, Candidacy{Retry: true}},
		{"paused applies retry later", Standing{Paused: true}, Candidacy{Retry: true}},
		{"unprocessed commits retry later", Standing{Commit: 4, Processed: 3}, Candidacy{Retry: true}},
		{"processed past commit stands", Standing{Commit: 3, Processed: 5}, Candidacy{Stand: true}},
		{"a first candidacy never signals", Standing{LostQuorum: true, SinceSignal: time.Hour}, Candidacy{Stand: true}},
		{"a repeated candidacy without quorum signals", Standing{Repeat: true, LostQuorum: true, SinceSignal: 2*window + 1},
			Candidacy{Stand: true, SignalNoQuorum: true}},
		{"but at most once per two windows", Standing{Repeat: true, LostQuorum: true, SinceSignal: 2 * window},
			Candidacy{Stand: true}},
		{"a repeated candidacy with quorum does not signal", Standing{Repeat: true, SinceSignal: time.Hour}, Candidacy{Stand: true}},
		{"an observer never signals", Standing{Observer: true, Repeat: true, LostQuorum: true, SinceSignal: time.Hour},
			Candidacy{Retry: true}},
	}
	for _, c := range cases {
		if got := StandForElection(c.s, window); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMayCampaign(t *testing.T) {
	for r, want := range map[Role]bool{Follower: true, Candidate: true, Leader: false, Closed: true} {
		if got := MayCampaign(r); got != want {
			t.Errorf("MayCampaign(%d) = %v, want %v", r, got, want)
		}
	}
}
