package raftport

import "testing"

// newInboxNode is a node with just its inbound queues and doorbell, in
// state role.
func newInboxNode(role RaftState) *raft {
	bell := make(chan struct{}, 1)
	n := &raft{
		inbox: bell,
		reqs:  newIPQueueRinging[*voteRequest]("vreq", bell),
		votes: newIPQueueRinging[*voteResponse]("vresp", bell),
		prop:  newIPQueueRinging[*proposedEntry]("prop", bell),
		entry: newIPQueueRinging[*appendEntry]("entry", bell),
		resp:  newIPQueueRinging[*appendEntryResponse]("resp", bell),
	}
	n.state.Store(int32(role))
	return n
}

func rung(bell chan struct{}) bool { return len(bell) == 1 }

// TestSharedBellSurvivesDrain checks that emptying one queue does not take
// the ring another queue made: the consumer would then sleep with work
// queued.
func TestSharedBellSurvivesDrain(t *testing.T) {
	bell := make(chan struct{}, 1)
	a := newIPQueueRinging[int]("a", bell)
	b := newIPQueueRinging[int]("b", bell)
	b.Push(1)
	a.Push(2)
	if a.Drain() != 1 {
		t.Fatal("Drain did not report the one item of a")
	}
	if !rung(bell) {
		t.Fatal("draining a took the ring of b's item")
	}

	own := newIPQueue[int]("own")
	own.Push(1)
	own.Drain()
	if len(own.Ch()) != 0 {
		t.Fatal("a queue with its own channel keeps a signal for nothing after Drain")
	}
}

// TestServeInbox checks which queues a ring serves, and that stopping
// early leaves the doorbell rung for what was not served.
func TestServeInbox(t *testing.T) {
	type result struct {
		goesOn, rung bool
		served       []string
	}
	for _, tc := range []struct {
		name string
		// first and second are the duties' answers: whether the loop goes
		// on, and whether serving changes the role to Candidate.
		firstGoesOn, firstChangesRole bool
		secondPending                 bool
		want                          result
	}{
		{"both served, nothing left", true, false, true, result{true, false, []string{"entry", "resp"}}},
		{"second has nothing", true, false, false, result{true, false, []string{"entry"}}},
		{"first ends the loop", false, false, true, result{false, true, []string{"entry"}}},
		{"first changes the role", true, true, true, result{true, true, []string{"entry"}}},
		{"early stop, nothing left", false, false, false, result{false, false, []string{"entry"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newInboxNode(Follower)
			n.entry.Push(&appendEntry{})
			if tc.secondPending {
				n.resp.Push(&appendEntryResponse{})
			}
			<-n.inbox // the loop took the ring
			var served []string
			duties := []inboxDuty{
				{hasEntries, func(n *raft) bool {
					served = append(served, "entry")
					n.entry.Drain()
					if tc.firstChangesRole {
						n.state.Store(int32(Candidate))
					}
					return tc.firstGoesOn
				}},
				{hasResponses, func(n *raft) bool {
					served = append(served, "resp")
					n.resp.Drain()
					return true
				}},
			}
			got := result{goesOn: n.serveInbox(Follower, duties)}
			got.rung, got.served = rung(n.inbox), served
			if got.goesOn != tc.want.goesOn || got.rung != tc.want.rung || len(got.served) != len(tc.want.served) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.served {
				if got.served[i] != tc.want.served[i] {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// TestRoleInboxesCoverEveryQueue checks that every role serves each of the
// inbound queues: one left out would fill up unseen, its rings spent on
// the others.
func TestRoleInboxesCoverEveryQueue(t *testing.T) {
	queues := map[string]func(*raft){
		"reqs":  func(n *raft) { n.reqs.Push(&voteRequest{}) },
		"votes": func(n *raft) { n.votes.Push(&voteResponse{}) },
		"prop":  func(n *raft) { n.prop.Push(&proposedEntry{}) },
		"entry": func(n *raft) { n.entry.Push(&appendEntry{}) },
		"resp":  func(n *raft) { n.resp.Push(&appendEntryResponse{}) },
	}
	for role, duties := range map[string][]inboxDuty{
		"leader": leaderInbox, "follower": followerInbox, "candidate": candidateInbox(nil),
	} {
		for name, push := range queues {
			n := newInboxNode(Follower)
			push(n)
			pending := 0
			for _, d := range duties {
				if d.pending(n) {
					pending++
				}
			}
			if pending != 1 {
				t.Errorf("%s: %d duties see the %s queue, want 1", role, pending, name)
			}
		}
	}
}
