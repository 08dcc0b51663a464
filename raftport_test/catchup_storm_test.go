package raftport_test

import (
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// The catchup storm of issue 15: entries of a catchup stream the follower
// had replaced, still queued and ahead of its log, cancelled the new
// catchup ("First catchup entry lacked a snapshot plus peer state") or,
// with no catchup running, started another; each new catchup was then
// cancelled by the next stale entry. A stream has an identity: only the
// follower's current stream is processed.

// TestCatchupStormStaleStreamAhead feeds a follower entries of a stream
// it replaced and of one it cancelled, ahead of its log: none of them
// disturbs the current catchup or asks for a new one.
func TestCatchupStormStaleStreamAhead(t *testing.T) {
	st := stepNode(t)
	answers := st.repliesOn("$TEST")
	entry := aeFrom(nats0, 1).inLeaderTerm(1).withEntry().answerTo("$TEST")

	// A live entry far ahead of our empty log: we ask for a first stream.
	st.live(entry.after(1, 10), catchupUpTo(1, 10))
	ar, msg := answers.next()
	require_False(t, ar.Success)
	onCatchupInbox(t, msg)
	replaced := st.p.CatchupSub()

	// That stream makes no progress: the next live entry asks again.
	require_NoError(t, st.p.SetCatchupProgress(0, time.Time{}))
	st.live(entry.after(1, 11), catchupUpTo(1, 11))
	_, msg = answers.next()
	onCatchupInbox(t, msg)
	current := st.p.CatchupSub()
	require_True(t, current != replaced)

	// The first stream's entries, ahead of our log, are dropped: the
	// current catchup goes on and nothing is asked.
	for pindex := uint64(5); pindex < 9; pindex++ {
		st.via(replaced, entry.after(1, pindex), lastIndex(0), catchupUpTo(1, 11))
	}
	answers.none()

	// The current stream is served.
	st.via(current, entry.after(0, 0), lastIndex(1), catchupUpTo(1, 11))
	st.via(current, entry.after(1, 1), lastIndex(2), catchupUpTo(1, 11))

	// Cancelled, it is stale too: its entries ahead of our log neither
	// start a catchup nor are stored.
	st.p.CancelCatchup()
	for pindex := uint64(4); pindex < 7; pindex++ {
		st.via(current, entry.after(1, pindex), lastIndex(2), notCatchingUp())
	}
	answers.none()
}

// TestCatchupReplacedStreamLeavesSuccessor has a leader replace the
// stream it sends a follower: the replaced stream stops at once and its
// end leaves the new stream's state alone, so the new stream keeps pacing
// on the follower's acknowledgements for longer than the stall timeout
// (at which the replaced stream, had it kept running, would have ended).
func TestCatchupReplacedStreamLeavesSuccessor(t *testing.T) {
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 600*time.Millisecond, 1200*time.Millisecond
	stall := tm.MinElectionTimeout / 2
	st := createRaftClusterWithTiming(t, "R3S", 3, tm).stepNode(nodeSetup{})

	const entries, entrySize, window = 40, 100 * 1024, 2 * 1024 * 1024
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, entrySize)}
	for i := range uint64(entries) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).carrying(big))
	}
	st.expect(lastIndex(entries))
	st.p.SwitchToLeader()

	old := st.c.watch("$OLD", 2*entries)
	fresh := st.c.watch("$NEW", 2*entries)
	fillWindow := func(stream chan *message) int {
		sent, n := 0, 0
		for sent <= window {
			sent += len(require_ChanRead(t, stream, 5*time.Second).Data)
			n++
		}
		return n
	}

	st.p.CatchupFollower(ackSpec{Term: 0, Index: 0, Peer: nats1, Reply: "$OLD"})
	fillWindow(old)
	st.p.CatchupFollower(ackSpec{Term: 0, Index: 0, Peer: nats1, Reply: "$NEW"})
	next := uint64(fillWindow(fresh))
	require_Equal(t, len(st.p.CatchupFollowers()), 1)

	// Each acknowledgement frees room for one more entry of the new
	// stream, until well past the stall timeout.
	acks := int(2*stall/(stall/4)) + 1
	for i := 1; i <= acks; i++ {
		time.Sleep(stall / 4)
		st.ack(ackFrom(nats1, 1, uint64(i), true))
		ae := decodeAE(t, require_ChanRead(t, fresh, 5*time.Second))
		require_Equal(t, ae.PIndex, next)
		next++
		require_Equal(t, len(st.p.CatchupFollowers()), 1)
	}
	(&replies{st: st, ch: old}).none()
}
