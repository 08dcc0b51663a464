package protocol

import (
	"testing"
	"time"
)

func TestAdmitStreamEntry(t *testing.T) {
	at := func(term, index uint64) Position { return Position{term, index} }
	for _, tc := range []struct {
		name string
		a    StreamArrival
		want bool
	}{
		{"replay", StreamArrival{Route: RouteReplay, Prev: at(1, 9), Last: at(1, 2)}, true},
		{"live ahead", StreamArrival{Route: RouteLive, Prev: at(1, 9), Last: at(1, 2)}, true},
		{"live behind", StreamArrival{Route: RouteLive, Prev: at(1, 1), Last: at(1, 2)}, true},
		{"active stream ahead (its snapshot)", StreamArrival{Route: RouteStream, Current: true, Active: true, Prev: at(1, 9), Last: at(1, 2)}, true},
		{"active stream behind", StreamArrival{Route: RouteStream, Current: true, Active: true, Prev: at(1, 1), Last: at(1, 2)}, true},
		{"active stream continues", StreamArrival{Route: RouteStream, Current: true, Active: true, Prev: at(1, 2), Last: at(1, 2)}, true},
		{"stale stream ahead (the storm)", StreamArrival{Route: RouteStream, Prev: at(1, 590), Last: at(1, 2)}, false},
		{"stale stream behind", StreamArrival{Route: RouteStream, Prev: at(1, 1), Last: at(1, 2)}, false},
		{"stale stream continues", StreamArrival{Route: RouteStream, Prev: at(1, 2), Last: at(1, 2)}, false},
		{"finished stream's tail continues", StreamArrival{Route: RouteStream, Current: true, Prev: at(1, 2), Last: at(1, 2)}, true},
		{"finished stream, other term", StreamArrival{Route: RouteStream, Current: true, Prev: at(2, 2), Last: at(1, 2)}, false},
		{"finished stream ahead", StreamArrival{Route: RouteStream, Current: true, Prev: at(1, 3), Last: at(1, 2)}, false},
		{"finished stream behind", StreamArrival{Route: RouteStream, Current: true, Prev: at(1, 1), Last: at(1, 2)}, false},
	} {
		if got := AdmitStreamEntry(tc.a); got != tc.want {
			t.Errorf("%s: AdmitStreamEntry(%+v) = %v, want %v", tc.name, tc.a, got, tc.want)
		}
	}
}

func TestTargetReached(t *testing.T) {
	for _, tc := range []struct {
		name         string
		last, target Position
		want         bool
	}{
		{"at the target", Position{2, 7}, Position{2, 7}, true},
		{"past the target", Position{2, 9}, Position{2, 7}, true},
		{"short of the index", Position{2, 6}, Position{2, 7}, false},
		{"index reached in an older term", Position{1, 7}, Position{2, 7}, false},
		{"newer term past the index", Position{3, 8}, Position{2, 7}, true},
	} {
		if got := TargetReached(tc.last, tc.target); got != tc.want {
			t.Errorf("%s: TargetReached(%+v, %+v) = %v, want %v", tc.name, tc.last, tc.target, got, tc.want)
		}
	}
}

func TestNeedsSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name         string
		followerLast uint64
		log          LogSpan
		want         bool
	}{
		{"next index in the log", 4, LogSpan{First: 1, Last: 10, Entries: 10}, false},
		{"empty follower, full log", 0, LogSpan{First: 1, Last: 10, Entries: 10}, false},
		{"next index compacted", 3, LogSpan{First: 6, Last: 10, Entries: 5}, true},
		{"next index is the first", 5, LogSpan{First: 6, Last: 10, Entries: 5}, false},
		{"log compacted away, follower behind", 4, LogSpan{First: 11, Last: 10, Entries: 0}, true},
		{"log compacted away, follower at its end", 10, LogSpan{First: 11, Last: 10, Entries: 0}, false},
		{"no log at all", 0, LogSpan{First: 1, Last: 0}, false},
	} {
		if got := NeedsSnapshot(tc.followerLast, tc.log); got != tc.want {
			t.Errorf("%s: NeedsSnapshot(%d, %+v) = %v, want %v", tc.name, tc.followerLast, tc.log, got, tc.want)
		}
	}
}

func TestHandoffAfterSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		snap uint64
		log  LogSpan
		want SnapshotHandoff
	}{
		{"log follows the snapshot", 5, LogSpan{First: 6, Last: 10, Entries: 5}, SnapshotHandoff{5, true}},
		{"log overlaps the snapshot", 8, LogSpan{First: 6, Last: 10, Entries: 5}, SnapshotHandoff{8, true}},
		{"log compacted past the snapshot", 3, LogSpan{First: 6, Last: 10, Entries: 5}, SnapshotHandoff{5, true}},
		{"snapshot covers the log", 10, LogSpan{First: 6, Last: 10, Entries: 5}, SnapshotHandoff{10, false}},
		{"log compacted away", 10, LogSpan{First: 11, Last: 10, Entries: 0}, SnapshotHandoff{10, false}},
		{"empty log", 0, LogSpan{}, SnapshotHandoff{0, false}},
	} {
		if got := HandoffAfterSnapshot(tc.snap, tc.log); got != tc.want {
			t.Errorf("%s: HandoffAfterSnapshot(%d, %+v) = %+v, want %+v", tc.name, tc.snap, tc.log, got, tc.want)
		}
	}
}

func TestStreamAnchor(t *testing.T) {
	// terms[i] is the term of index first+i in the leader's log.
	for _, tc := range []struct {
		name     string
		first    uint64
		terms    []uint64
		follower Position
		want     uint64
	}{
		{"logs agree at the follower's end", 1, []uint64{1, 1, 2, 2, 3}, Position{2, 4}, 4},
		{"follower has nothing", 1, []uint64{1, 1, 2}, Position{0, 0}, 0},
		{"follower's end past our log", 1, []uint64{1, 1, 2}, Position{2, 7}, 7},
		{"follower's end before our log", 5, []uint64{2, 2, 3}, Position{1, 3}, 3},
		{"conflicting suffix of an old term", 1, []uint64{1, 1, 2, 2, 5, 5, 5, 5}, Position{2, 8}, 4},
		{"conflict right after the first entry", 1, []uint64{2, 5, 5, 5}, Position{2, 4}, 1},
		{"conflict from our first entry on", 1, []uint64{5, 5, 5, 5}, Position{2, 4}, 0},
		{"conflict from our first entry on, compacted", 4, []uint64{5, 5, 5, 5}, Position{2, 6}, 3},
		{"follower's term is newer than ours there", 1, []uint64{1, 1, 1}, Position{3, 3}, 3},
		{"several terms above the follower's", 1, []uint64{1, 2, 3, 4, 5, 6}, Position{3, 6}, 3},
	} {
		lookups := 0
		termAt := func(i uint64) (uint64, bool) {
			lookups++
			if i < tc.first || i-tc.first >= uint64(len(tc.terms)) {
				return 0, false
			}
			return tc.terms[i-tc.first], true
		}
		if got := StreamAnchor(tc.follower, tc.first, termAt); got != tc.want {
			t.Errorf("%s: StreamAnchor(%+v, %d) = %d, want %d", tc.name, tc.follower, tc.first, got, tc.want)
		}
		if limit := 2 + 2*bitsLen(len(tc.terms)); lookups > limit {
			t.Errorf("%s: %d term lookups, more than a binary search's %d", tc.name, lookups, limit)
		}
	}
}

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

func TestWindow(t *testing.T) {
	type op struct {
		ack    uint64 // acknowledge this index (0: none)
		extend uint64 // extend the end to this index (0: none)
		sends  []uint64
		then   Step
		past   bool
	}
	for _, tc := range []struct {
		name  string
		end   uint64
		limit int
		size  int
		ops   []op
	}{
		{"all fits", 3, 100, 10, []op{
			{ack: 0 + 1, sends: []uint64{2, 3}, then: StepDone}}},
		{"start from the follower's index", 5, 100, 10, []op{
			{ack: 2, sends: []uint64{3, 4, 5}, then: StepDone}}},
		{"full window waits, an ack frees one entry", 10, 25, 10, []op{
			{ack: 0, sends: []uint64{1, 2, 3}, then: StepWait},
			{ack: 1, sends: []uint64{4}, then: StepWait},
			{ack: 3, sends: []uint64{5, 6}, then: StepWait}}},
		{"an ack past the end ends the stream", 4, 15, 10, []op{
			{ack: 0, sends: []uint64{1, 2}, then: StepWait},
			{ack: 5, past: true, sends: []uint64{3, 4}, then: StepWait}}},
		{"extended end goes on", 2, 100, 10, []op{
			{ack: 0, sends: []uint64{1, 2}, then: StepDone},
			{extend: 4, sends: []uint64{3, 4}, then: StepDone},
			{extend: 3, then: StepDone}}},
	} {
		w := NewWindow(tc.end, tc.limit)
		for i, o := range tc.ops {
			if o.extend != 0 {
				w.Extend(o.extend)
			} else if past := w.Ack(o.ack); past != o.past {
				t.Errorf("%s, step %d: Ack(%d) past = %v, want %v", tc.name, i, o.ack, past, o.past)
			}
			var sent []uint64
			step := StepSend
			for {
				var index uint64
				if index, step = w.Next(); step != StepSend {
					break
				}
				sent = append(sent, index)
				w.Sent(index, tc.size)
			}
			if !equal(sent, o.sends) || step != o.then {
				t.Errorf("%s, step %d: sent %v then %v, want %v then %v", tc.name, i, sent, step, o.sends, o.then)
			}
		}
	}
}

func TestWindowExtendOnlyForward(t *testing.T) {
	w := NewWindow(5, 10)
	if w.Extend(5) || w.Extend(3) || !w.Extend(6) {
		t.Fatal("Extend must move the end forward only")
	}
	if w.InFlight() != 0 {
		t.Fatalf("InFlight = %d before any send", w.InFlight())
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStall(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const limit = 2 * time.Second
	for _, tc := range []struct {
		name           string
		mark, value    uint64
		since          time.Time
		now            time.Time
		moved, stalled bool
	}{
		{"progress", 3, 4, t0, t0.Add(time.Hour), true, false},
		{"quiet within the limit", 3, 3, t0, t0.Add(limit), false, false},
		{"quiet past the limit", 3, 3, t0, t0.Add(limit + time.Millisecond), false, true},
		{"moved backwards counts as a move", 5, 2, t0, t0.Add(time.Hour), true, false},
		{"never seen moving", 0, 0, time.Time{}, t0, false, true},
	} {
		s := Stall{Mark: tc.mark, Since: tc.since}
		moved, stalled := s.Observe(tc.value, tc.now, limit)
		if moved != tc.moved || stalled != tc.stalled {
			t.Errorf("%s: Observe = moved %v stalled %v, want %v %v", tc.name, moved, stalled, tc.moved, tc.stalled)
		}
		if moved && (s.Mark != tc.value || !s.Since.Equal(tc.now)) {
			t.Errorf("%s: mark not updated: %+v", tc.name, s)
		}
	}
}
