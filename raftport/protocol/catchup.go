package protocol

import "time"

// Route says how an append entry reached a follower.
type Route uint8

// The routes: RouteReplay is our own log read back at start, RouteLive
// the group's append subject (the leader's live traffic), RouteStream a
// catchup inbox (one stream of one catchup).
const RouteReplay, RouteLive, RouteStream Route = 0, 1, 2

// Position is a log position: the term and index of one entry.
type Position struct{ Term, Index uint64 }

// StreamArrival is what a follower knows of an entry that came on a
// catchup stream, to tell whether the stream is the one it asked for last.
type StreamArrival struct {
	Route Route
	// Current: the entry came on the follower's current stream, the last
	// one it asked for. A stream stays current after it finished until the
	// follower asks for another; every earlier stream is stale.
	Current bool
	// Active: the current stream is still catching the follower up.
	Active bool
	Prev   Position // the position the entry follows
	Last   Position // the follower's last log position
}

// AdmitStreamEntry reports whether a follower may process an entry by the
// way it arrived. Replayed and live entries always pass. An entry of a
// stale stream never does, whatever its index: ahead of our log it would
// cancel the current catchup or start another, behind it it would cut
// our log back. An entry of the current stream passes while the stream
// is active; once the stream finished, only an entry that continues our
// log exactly does (the tail of the stream still in flight).
func AdmitStreamEntry(a StreamArrival) bool {
	switch {
	case a.Route != RouteStream:
		return true
	case !a.Current:
		return false
	case a.Active:
		return true
	}
	return a.Prev == a.Last
}

// TargetReached reports whether a follower whose log ends at last holds
// everything the catchup towards target was for.
func TargetReached(last, target Position) bool {
	return last.Term >= target.Term && last.Index >= target.Index
}

// LogSpan is the part of the leader's log a catchup can be served from.
type LogSpan struct {
	// First is the first index still in the log, Last the last written;
	// Entries counts what the log holds (0 once compacted away).
	First, Last, Entries uint64
}

// NeedsSnapshot reports whether a follower whose log ends at followerLast
// needs the leader's snapshot first: the next index it needs was compacted
// away, or the log holds no entries at all up to it.
func NeedsSnapshot(followerLast uint64, log LogSpan) bool {
	next := followerLast + 1
	return next < log.First || log.Entries == 0 && next <= log.Last
}

// StreamAnchor finds the entry a stream to a follower starts after. The
// follower's log ends at last; our log holds the indexes from first on,
// and termAt reads the term of one of them (false when it cannot). When
// our entry at last.Index has last's term, the logs agree up to it and
// the stream starts there. Otherwise every entry of the follower after
// the highest index whose term in our log is at most last.Term conflicts
// with ours (the follower's terms are all at most last.Term, ours beyond
// that index are higher): the stream starts there, so that one catchup
// removes the follower's whole conflicting suffix instead of one entry
// per catchup. Terms never decrease along a log, so the search is
// binary. A result of first-1 means no entry of our log qualifies.
func StreamAnchor(last Position, first uint64, termAt func(uint64) (uint64, bool)) uint64 {
	if last.Index < first {
		return last.Index
	}
	if t, ok := termAt(last.Index); !ok || t <= last.Term {
		return last.Index
	}
	// Invariant: the answer is in [lo-1, hi-1]; entry hi's term is higher.
	lo, hi := first, last.Index
	for lo < hi {
		mid := lo + (hi-lo)/2
		t, ok := termAt(mid)
		if !ok {
			return last.Index
		}
		if t <= last.Term {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// SnapshotHandoff is what a leader's snapshot message tells a follower and
// what follows it.
type SnapshotHandoff struct {
	// Covers is the index the follower's log continues from: the
	// snapshot's, or the index before the log's first when the log was
	// compacted past the snapshot.
	Covers uint64
	// StreamRest: log entries remain after Covers and must be streamed.
	StreamRest bool
}

// HandoffAfterSnapshot computes where the log picks up after a snapshot
// that covers snapIndex.
func HandoffAfterSnapshot(snapIndex uint64, log LogSpan) SnapshotHandoff {
	covers := snapIndex
	if log.First > 0 {
		covers = max(covers, log.First-1)
	}
	return SnapshotHandoff{Covers: covers, StreamRest: log.Entries != 0 && covers < log.Last}
}

// Window is a leader's flow control for one catchup stream: how many
// bytes may be sent ahead of the follower's acknowledgements, which index
// goes next, and when the stream has sent all it was asked for. Its zero
// value is not usable; start one with NewWindow.
type Window struct {
	// end is where the stream stops (the leader's last index when it
	// began, or later when extended); sent is the last index handed out,
	// 0 until the follower's start is known.
	end, sent uint64
	// limit is how many bytes may be in flight; bytes how many are.
	limit, bytes int
	inflight     []flight // in index order
}

type flight struct {
	index uint64
	size  int
}

// NewWindow starts the flow control of a stream that ends at end and may
// keep limit bytes unacknowledged.
func NewWindow(end uint64, limit int) Window {
	return Window{end: end, limit: limit}
}

// Step is what a window allows next.
type Step uint8

// The steps: StepSend sends the index returned, StepWait waits for an
// acknowledgement (the window is full), StepDone stops (everything up to
// the end was sent).
const StepSend, StepWait, StepDone Step = 0, 1, 2

// Ack takes a progress report from the follower: the first one is the
// index the stream starts after, later ones release what the follower
// holds. It reports whether the follower is already past the stream's end.
func (w *Window) Ack(index uint64) (past bool) {
	if w.sent == 0 {
		w.sent = index
	}
	n := 0
	for n < len(w.inflight) && w.inflight[n].index <= index {
		w.bytes -= w.inflight[n].size
		n++
	}
	w.inflight = w.inflight[n:]
	return index > w.end
}

// Next says what to do now: send an index, wait, or stop. Room is checked
// before each send, so the last entry sent may cross the limit.
func (w *Window) Next() (uint64, Step) {
	switch {
	case w.bytes > w.limit:
		return 0, StepWait
	case w.sent >= w.end:
		return 0, StepDone
	}
	w.sent++
	return w.sent, StepSend
}

// Extend moves the stream's end to end when that is later: a stream that
// reached the end it began with goes on with what the leader appended
// since, so that the entries the follower dropped as live traffic while
// it caught up reach it too.
func (w *Window) Extend(end uint64) bool {
	if end <= w.end {
		return false
	}
	w.end = end
	return true
}

// Sent records that index went out with size bytes.
func (w *Window) Sent(index uint64, size int) {
	w.inflight = append(w.inflight, flight{index, size})
	w.bytes += size
}

// InFlight is the number of bytes sent and not acknowledged.
func (w *Window) InFlight() int { return w.bytes }

// Stall watches one side of a catchup for progress: the follower's log
// end, or the count of acknowledgements a leader got.
type Stall struct {
	Mark  uint64    // the value last seen
	Since time.Time // when it was last seen to move
}

// Observe takes the current value at now. It reports moved when the value
// changed since the last observation (the mark is then updated), and
// stalled when it did not and more than limit passed since it last moved.
func (s *Stall) Observe(value uint64, now time.Time, limit time.Duration) (moved, stalled bool) {
	if value != s.Mark {
		s.Mark, s.Since = value, now
		return true, false
	}
	return false, now.Sub(s.Since) > limit
}
