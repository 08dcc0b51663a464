package faults

import (
	"fmt"
	"sort"
	"time"
)

// catchupStartsBound is how many catchups one follower may be sent within
// one second before the suite calls it a storm: issue 15 saw 400 to 1,170
// per second, with up to 1,141 streams at once. On the wire a leader's
// re-send of a short gap (protocol.Resend) goes to the catchup inbox the
// follower asked on, just as a stream does, so it counts as a start here;
// after a partition heals a follower may need a few of those in a second
// (6 was seen), which is recovery, not a storm.
const catchupStartsBound = 10

// catchupReport sums up the catchup streams of a run, per follower.
type catchupReport struct {
	Streams       int
	Messages      uint64
	MaxConcurrent int // most streams sending to one follower at one time
	MaxPerSecond  int // most streams started for one follower within one second
	Worst         string
}

// Holds reports whether the catchup bound held: at most one stream per
// follower at any time, and few starts per second.
func (r catchupReport) Holds() bool {
	return r.MaxConcurrent <= 1 && r.MaxPerSecond <= catchupStartsBound
}

func (r catchupReport) String() string {
	s := fmt.Sprintf("%d catchup streams (%d entries); per follower at most %d at once and %d started within one second",
		r.Streams, r.Messages, r.MaxConcurrent, r.MaxPerSecond)
	if r.Worst != "" {
		s += "; worst: " + r.Worst
	}
	return s
}

// analyzeCatchups measures the streams the tap saw. A stream is live from
// its first entry to its last; a follower with two live streams is being
// sent a stream nobody will use.
func analyzeCatchups(w *wireLog, names map[string]string) catchupReport {
	w.mu.Lock()
	byFollower := map[string][]*catchupStream{}
	var r catchupReport
	for _, s := range w.streams {
		byFollower[s.follower] = append(byFollower[s.follower], s)
		r.Streams++
		r.Messages += s.messages
	}
	w.mu.Unlock()

	for id, streams := range byFollower {
		follower := names[id]
		if follower == "" {
			follower = id
		}
		type edge struct {
			at    time.Duration
			delta int
		}
		var edges []edge
		var starts []time.Duration
		for _, s := range streams {
			edges = append(edges, edge{s.first, +1}, edge{s.last, -1})
			starts = append(starts, s.first)
		}
		// A stream that ends when the next begins does not overlap it.
		sort.Slice(edges, func(i, j int) bool {
			if edges[i].at != edges[j].at {
				return edges[i].at < edges[j].at
			}
			return edges[i].delta < edges[j].delta
		})
		live := 0
		for _, e := range edges {
			live += e.delta
			if live > r.MaxConcurrent {
				r.MaxConcurrent = live
				r.Worst = fmt.Sprintf("%d streams to %s at %.2fs", live, follower, e.at.Seconds())
			}
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for i := range starts {
			j := sort.Search(len(starts), func(k int) bool { return starts[k] > starts[i]+time.Second })
			if j-i > r.MaxPerSecond {
				r.MaxPerSecond = j - i
				if r.MaxConcurrent <= 1 {
					r.Worst = fmt.Sprintf("%d streams started for %s within 1s of %.2fs", j-i, follower, starts[i].Seconds())
				}
			}
		}
	}
	return r
}
