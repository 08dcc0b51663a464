package transport

import "sync"

// replayFilter remembers, for one subscription, which messages of each
// sending session it accepted: the highest sequence number and a window of
// the 64 below it. A publisher's messages reach one subscription in the
// order they were sent (NATS keeps that order per publisher and
// subscription), so anything at or below a number already seen is either a
// replay or reordered beyond what the window forgives.
//
// A session can be forgotten once every message it sent is stale: its
// newest send time is more than the allowed skew before now. A replay of
// any of its messages is then refused by the clock check instead, so the
// filter's memory is bounded by the sessions heard from within the skew.
type replayFilter struct {
	mu       sync.Mutex
	sessions map[uint64]*seqWindow
	checks   int // since the last sweep of forgotten sessions
}

type seqWindow struct {
	top    uint64 // highest sequence number accepted
	seen   uint64 // bit i: top-i was accepted (or is older than first contact)
	newest int64  // latest send time accepted, sender's clock
}

// sweepEvery is how many checks pass between sweeps of stale sessions.
const sweepEvery = 1024

func newReplayFilter() *replayFilter {
	return &replayFilter{sessions: make(map[uint64]*seqWindow)}
}

// check decides on one message whose tag verified: accepted (and
// recorded), or refused as dropStale or dropReplayed.
func (f *replayFilter) check(session, seq uint64, sent, now, skew int64) (dropReason, bool) {
	if sent < now-skew || sent > now+skew {
		return dropStale, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.checks++; f.checks >= sweepEvery {
		f.checks = 0
		for id, w := range f.sessions {
			if w.newest < now-skew {
				delete(f.sessions, id)
			}
		}
	}
	w := f.sessions[session]
	if w == nil {
		// Everything this session sent before the first message seen here
		// counts as seen: in order delivery cannot bring it now.
		f.sessions[session] = &seqWindow{top: seq, seen: ^uint64(0), newest: sent}
		return 0, true
	}
	switch {
	case seq > w.top:
		if shift := seq - w.top; shift < 64 {
			w.seen = w.seen<<shift | 1
		} else {
			w.seen = 1
		}
		w.top = seq
	case w.top-seq >= 64:
		return dropReplayed, false
	default:
		bit := uint64(1) << (w.top - seq)
		if w.seen&bit != 0 {
			return dropReplayed, false
		}
		w.seen |= bit
	}
	w.newest = max(w.newest, sent)
	return 0, true
}
