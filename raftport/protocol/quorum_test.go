package protocol

import "testing"

func TestQuorumOf(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {7, 4},
	} {
		if got := QuorumOf(tc.size); got != tc.want {
			t.Errorf("QuorumOf(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}

func TestSized(t *testing.T) {
	for _, tc := range []struct{ req, size, quorum int }{
		{0, 2, 2}, {1, 2, 2}, {2, 2, 2}, {3, 3, 2}, {5, 5, 3},
	} {
		size, quorum := Sized(tc.req)
		if size != tc.size || quorum != tc.quorum {
			t.Errorf("Sized(%d) = %d, %d; want %d, %d", tc.req, size, quorum, tc.size, tc.quorum)
		}
	}
}

func TestJudgeAck(t *testing.T) {
	leader := Ack{Leading: true, Member: true, Index: 5, Commit: 3, LastIndex: 8}
	for _, tc := range []struct {
		name string
		edit func(*Ack)
		want AckVerdict
	}{
		{"counted", func(*Ack) {}, AckCounted},
		{"at our last index", func(a *Ack) { a.Index = 8 }, AckCounted},
		{"not leading", func(a *Ack) { a.Leading = false }, AckNotLeading},
		{"not leading wins over committed", func(a *Ack) { a.Leading, a.Index = false, 2 }, AckNotLeading},
		{"at the commit index", func(a *Ack) { a.Index = 3 }, AckCommitted},
		{"below the commit index", func(a *Ack) { a.Index = 1 }, AckCommitted},
		{"beyond our log", func(a *Ack) { a.Index = 9 }, AckBeyondLog},
		{"removed peer", func(a *Ack) { a.Member = false }, AckNotMember},
		{"removed peer, committed index", func(a *Ack) { a.Member, a.Index = false, 3 }, AckCommitted},
	} {
		a := leader
		tc.edit(&a)
		if got := JudgeAck(a); got != tc.want {
			t.Errorf("%s: JudgeAck(%+v) = %d, want %d", tc.name, a, got, tc.want)
		}
	}
}

func TestAcksRecordAndVotes(t *testing.T) {
	members := map[string]bool{"a": true, "b": true, "c": true}
	for _, tc := range []struct {
		name    string
		acks    [][2]string // index (as one digit), peer
		index   uint64
		news    []bool
		votes   int
		members map[string]bool
	}{
		{"none", nil, 1, nil, 0, members},
		{"two peers", [][2]string{{"1", "a"}, {"1", "b"}}, 1, []bool{true, true}, 2, members},
		{"duplicate ack", [][2]string{{"1", "a"}, {"1", "a"}}, 1, []bool{true, false}, 1, members},
		{"other index", [][2]string{{"2", "a"}, {"1", "b"}}, 1, []bool{true, true}, 1, members},
		{"removed after acking", [][2]string{{"1", "a"}, {"1", "d"}}, 1, []bool{true, true}, 1, members},
		{"all removed", [][2]string{{"1", "a"}, {"1", "b"}}, 1, []bool{true, true}, 0, map[string]bool{"c": true}},
	} {
		a := Acks{}
		for i, ack := range tc.acks {
			news := a.Record(uint64(ack[0][0]-'0'), ack[1])
			if news != tc.news[i] {
				t.Errorf("%s: Record #%d = %v, want %v", tc.name, i, news, tc.news[i])
			}
		}
		if got := Votes(a, tc.index, tc.members); got != tc.votes {
			t.Errorf("%s: Votes = %d, want %d", tc.name, got, tc.votes)
		}
	}
}

func TestCommitTo(t *testing.T) {
	base := CommitQuery{Commit: 4, Index: 6, LastIndex: 7, Votes: 2, Quorum: 2, Term: 3, IndexTerm: 3}
	for _, tc := range []struct {
		name  string
		edit  func(*CommitQuery)
		to    uint64
		moved bool
	}{
		{"quorum of the current term", func(*CommitQuery) {}, 6, true},
		{"more than a quorum", func(q *CommitQuery) { q.Votes = 3 }, 6, true},
		{"one short", func(q *CommitQuery) { q.Votes = 1 }, 4, false},
		{"earlier term entry by counting", func(q *CommitQuery) { q.IndexTerm = 2 }, 4, false},
		{"unknown entry term", func(q *CommitQuery) { q.IndexTerm = 0 }, 4, false},
		{"already committed", func(q *CommitQuery) { q.Index = 4 }, 4, false},
		{"beyond our log", func(q *CommitQuery) { q.Index = 8 }, 4, false},
		{"lone member", func(q *CommitQuery) { q.Votes, q.Quorum = 1, 1 }, 6, true},
		{"leader not a member, no acks", func(q *CommitQuery) { q.Votes, q.Quorum = 0, 1 }, 4, false},
	} {
		q := base
		tc.edit(&q)
		to, moved := CommitTo(q)
		if to != tc.to || moved != tc.moved {
			t.Errorf("%s: CommitTo(%+v) = %d, %v; want %d, %v", tc.name, q, to, moved, tc.to, tc.moved)
		}
	}
}
