package raftport

import (
	"errors"
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// A catchup is a stream of log entries a leader sends to one follower's
// private inbox. Each stream has an identity that both ends check: the
// leader keeps at most one stream per follower and halts a replaced one
// at once; the follower processes entries of its current stream only
// (protocol.AdmitStreamEntry). The decisions (where to start, how much
// may be in flight, when a stream stalled) are the protocol package's.

// catchupWindowBytes bounds the bytes a leader streams to one follower
// ahead of its acknowledgements, so a far-behind follower cannot make the
// leader buffer its whole log on the transport.
const catchupWindowBytes = 2 * 1024 * 1024

// catchupActivityInterval is how long a catchup may go without progress
// before either side gives up on it: half the minimum election timeout
// (2s at the default timing), so it scales with shortened test timings.
func (n *raft) catchupActivityInterval() time.Duration {
	return n.timing.MinElectionTimeout / 2
}

// catchupLeaderCheck is how often a leader's stream looks at whether it
// still leads and still hears from its follower.
func (n *raft) catchupLeaderCheck() time.Duration {
	return n.catchupActivityInterval() / 20
}

// catchupLedger is the node's catchup state that outlives one message:
// as leader, the stream sent to each follower; as follower, the stream it
// asked for last, which stays its current stream after it completed
// (until it asks for another or cancels it).
type catchupLedger struct {
	out     map[string]*outStream
	current transport.Subscription
}

// outStream is one catchup a leader sends. Its fields but window are
// guarded by the node lock; window belongs to the stream's goroutine.
type outStream struct {
	peer, inbox string
	term        uint64 // our term when the stream began, sent as lterm
	acks        *IPQueue[uint64]
	halt        chan struct{} // closed when the stream must stop now
	halted      bool
	window      protocol.Window
}

// stop halts s; it sends nothing more. Lock held.
func (s *outStream) stop() {
	if !s.halted {
		s.halted = true
		close(s.halt)
	}
}

// noteCatchupAck feeds a follower's acknowledgement to the stream sent to
// it, if any: a stream paces itself on them. Lock held.
func (n *raft) noteCatchupAck(peer string, index uint64) {
	if s := n.cu.out[peer]; s != nil {
		s.acks.Push(index)
	}
}

// catchupsRunning counts the streams we send. Lock held.
func (n *raft) catchupsRunning() int { return len(n.cu.out) }

// stopCatchupStreams halts every stream we send, so none reads the log
// once this returns (they read it under the read lock and check halted
// first). Called when the node shuts down, before its log closes. Lock
// held.
func (n *raft) stopCatchupStreams() {
	for peer, s := range n.cu.out {
		s.stop()
		delete(n.cu.out, peer)
	}
}

// logSpan describes our log for catchup decisions. Lock held.
func (n *raft) logSpan() protocol.LogSpan {
	st := n.wal.State()
	return protocol.LogSpan{First: st.FirstIndex, Last: st.LastIndex, Entries: st.Entries}
}

// catchupFollower answers a follower that reported it is behind: it halts
// the stream that follower was sent so far, ships our snapshot first if
// the follower needs entries we compacted, and starts a new stream.
func (n *raft) catchupFollower(ar *appendEntryResponse) {
	defer arPool.Put(ar)
	n.debug("Follower %q asked for missing entries", ar.peer)

	n.Lock()
	defer n.Unlock()
	if old := n.cu.out[ar.peer]; old != nil {
		n.debug("Halting the stream %q was sent so far", ar.peer)
		old.stop()
		delete(n.cu.out, ar.peer)
	}
	from, ok := n.catchupStart(ar)
	if !ok {
		return
	}
	s := &outStream{
		peer: ar.peer, inbox: ar.reply, term: n.term,
		acks:   newIPQueue[uint64](fmt.Sprintf("[ACC:%s] RAFT '%s' indexUpdates", n.accName, n.group)),
		halt:   make(chan struct{}),
		window: protocol.NewWindow(n.pindex, catchupWindowBytes),
	}
	n.debug("Catchup of %q from [%d:%d] up to [%d:%d] begins", ar.peer, ar.term, ar.index, n.pterm, n.pindex)
	// The first acknowledgement is where the stream starts.
	s.acks.Push(from)
	if n.cu.out == nil {
		n.cu.out = make(map[string]*outStream)
	}
	n.cu.out[ar.peer] = s
	n.wg.Add(1)
	go n.runCatchup(s)
}

// catchupStart decides where the stream to ar's follower starts, sending
// our snapshot first when the log alone cannot bring it up to date. It
// returns the index the first streamed entry follows, and false when
// there is nothing to stream (or we cannot, and stepped down). Lock held.
func (n *raft) catchupStart(ar *appendEntryResponse) (uint64, bool) {
	span, anchor := n.logSpan(), n.catchupAnchor(ar)
	next := anchor + 1
	if protocol.NeedsSnapshot(anchor, span) {
		n.debug("Follower is behind our first entry, shipping a snapshot")
		h, err := n.sendSnapshotToFollower(ar.reply)
		if err != nil {
			n.error("Snapshot delivery to follower %s failed: %v", ar.peer, err)
			return 0, false
		}
		if !h.StreamRest {
			n.debug("Catchup complete")
			return 0, false
		}
		n.debug("Snapshot delivered, catchup resumes after index %d", h.Covers)
		next = h.Covers + 1
	}

	ae, err := n.loadEntry(next)
	if errors.Is(err, storage.ErrNotFound) {
		// The follower asks for more than we have: it knows a log that
		// is ahead of ours, so we should not lead.
		n.warn("Cannot serve follower from index %d (log %+v): %v", next, n.logSpan(), err)
		n.stepdownLocked(noLeader)
		return 0, false
	}
	if err != nil {
		n.warn("Cannot serve follower from index %d (log %+v): %v", next, n.logSpan(), err)
		ae, err = n.loadFirstEntry()
	}
	if ae == nil || err != nil {
		// E.g. our log was reset while the follower holds a snapshot:
		// staying leader would repeat this forever.
		n.warn("No entry to start a catchup from: %v", err)
		n.stepdownLocked(noLeader)
		return 0, false
	}
	if ae.pindex != anchor {
		n.debug("Starting entry [%d:%d] differs from what the follower expects [%d:%d]", ae.pterm, ae.pindex, ar.term, ar.index)
	}
	return ae.pindex, true
}

// catchupAnchor is the index after which ar's follower is to be sent our
// log: its last index, or before its whole conflicting suffix (see
// protocol.StreamAnchor). Lock held.
func (n *raft) catchupAnchor(ar *appendEntryResponse) uint64 {
	anchor := protocol.StreamAnchor(protocol.Position{Term: ar.term, Index: ar.index}, n.logSpan().First, n.storedTerm)
	if anchor != ar.index {
		n.debug("Log of %q conflicts with ours after index %d", ar.peer, anchor)
	}
	return anchor
}

// runCatchup is the goroutine of one stream: it sends entries while the
// window has room and waits for acknowledgements when it is full. It ends
// when everything up to our last index at the start was sent, when the
// follower is past it, when the follower went quiet, when we stop leading
// or when the stream is halted.
func (n *raft) runCatchup(s *outStream) {
	defer n.wg.Done()
	defer n.retireStream(s)

	check := time.NewTicker(n.catchupLeaderCheck())
	defer check.Stop()
	quiet := protocol.Stall{Since: time.Now()}
	var heard uint64
	for {
		select {
		case <-s.halt:
			return
		case <-n.quit:
			return
		case <-n.s.quitCh:
			return
		case now := <-check.C:
			if n.State() != Leader {
				n.debug("Catchup of %q dropped: leadership was lost", s.peer)
				return
			}
			if _, stalled := quiet.Observe(heard, now, n.catchupActivityInterval()); stalled {
				n.debug("Catchup of %q made no progress", s.peer)
				return
			}
		case <-s.acks.Ch():
			acks := s.acks.Pop()
			heard += uint64(len(acks))
			past := false
			for _, index := range acks {
				past = s.window.Ack(index) || past
			}
			s.acks.Recycle(&acks)
			if past || n.pumpStream(s) {
				n.debug("Catchup of %q complete", s.peer)
				return
			}
		}
	}
}

// pumpStream sends what s's window lets through. It reports whether the
// stream is over: everything up to our last index was sent.
func (n *raft) pumpStream(s *outStream) bool {
	for {
		index, step := s.window.Next()
		if step == protocol.StepWait {
			return false
		}
		if step == protocol.StepDone {
			n.RLock()
			last := n.pindex
			n.RUnlock()
			if !s.window.Extend(last) {
				return true
			}
			continue
		}
		size, ok := n.sendStreamEntry(s, index)
		if !ok {
			return true
		}
		s.window.Sent(index, size)
	}
}

// sendStreamEntry reads the entry at index and sends it on s, under the
// read lock: a halted stream or a closed node (whose log may be closed)
// reads nothing. Entries from older terms carry the term the stream
// began in, so the follower checks them against the highest term it
// knows.
func (n *raft) sendStreamEntry(s *outStream, index uint64) (int, bool) {
	n.RLock()
	defer n.RUnlock()
	if s.halted || n.State() != Leader {
		return 0, false
	}
	ae, err := n.loadEntry(index)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			n.warn("Reading index %d from the log failed: %v", index, err)
		}
		return 0, false
	}
	if ae.lterm != s.term {
		ae.lterm = s.term
		if ae.buf, err = ae.encode(ae.buf[:0]); err != nil {
			n.warn("Encoding a stored entry for resend failed: %v", err)
			return 0, false
		}
	}
	n.sendRPC(s.inbox, n.areply, ae.buf)
	return len(ae.buf), true
}

// retireStream removes s from the ledger if it is still the follower's
// stream (a replaced one leaves its successor alone). A follower we
// caught up without knowing it is a new member.
func (n *raft) retireStream(s *outStream) {
	n.Lock()
	mine := n.cu.out[s.peer] == s
	if mine {
		delete(n.cu.out, s.peer)
	}
	_, known := n.peers[s.peer]
	n.Unlock()
	if mine && !known {
		n.debug("%q has caught up; adding it as a peer", s.peer)
		if err := n.ProposeAddPeer(s.peer); err != nil {
			n.debug("Could not propose adding %q: %v", s.peer, err)
		}
	}
}

// sendSnapshotToFollower sends our last snapshot with its peer state as
// the first message of a catchup, and says where the log continues after
// it. Without a snapshot we cannot bring the follower back: we step down
// so that a leader that has one takes over. Lock held.
func (n *raft) sendSnapshotToFollower(subject string) (protocol.SnapshotHandoff, error) {
	snap, err := n.loadLastSnapshot()
	if err != nil {
		n.stepdownLocked(noLeader)
		return protocol.SnapshotHandoff{}, err
	}
	h := protocol.HandoffAfterSnapshot(snap.lastIndex, n.logSpan())
	msg := n.buildAppendEntry([]*Entry{{Type: EntrySnapshot, Data: snap.data}, {Type: EntryPeerState, Data: snap.peerstate}})
	msg.pterm, msg.pindex = snap.lastTerm, h.Covers
	buf, err := msg.encode(nil)
	if err == nil {
		n.sendRPC(subject, n.areply, buf)
	}
	return h, err
}

// loadEntry decodes the append entry stored at index.
func (n *raft) loadEntry(index uint64) (ae *appendEntry, err error) {
	var data []byte
	if _, data, err = n.wal.Load(index); err == nil {
		ae, err = decodeAppendEntry(data, nil, "")
	}
	return ae, err
}

// storedTerm reads the term of the entry stored at index. It is safe
// without the lock, as the log is.
func (n *raft) storedTerm(index uint64) (uint64, bool) {
	term, _, err := n.wal.Load(index)
	return term, err == nil
}

// loadFirstEntry loads the oldest entry still in the log. Lock held.
func (n *raft) loadFirstEntry() (*appendEntry, error) {
	return n.loadEntry(n.logSpan().First)
}

// admitStreamEntry is the follower's check of a stream's identity: may
// ae, which arrived on sub (nil for a replay of our own log), be
// processed? See protocol.AdmitStreamEntry. Lock held.
func (n *raft) admitStreamEntry(ae *appendEntry, sub transport.Subscription, live bool) bool {
	a := protocol.StreamArrival{
		Route: protocol.RouteStream,
		Prev:  protocol.Position{Term: ae.pterm, Index: ae.pindex},
		Last:  protocol.Position{Term: n.pterm, Index: n.pindex},
	}
	switch cs := n.catchup; {
	case sub == nil:
		a.Route = protocol.RouteReplay
	case live:
		a.Route = protocol.RouteLive
	case cs != nil:
		a.Active = sub == cs.sub
		a.Current = a.Active
	default:
		a.Current = sub == n.cu.current
	}
	return protocol.AdmitStreamEntry(a)
}

// createCatchup starts a new stream: it records where the catchup must
// get to (ae's previous entry) and subscribes to a fresh inbox, the
// stream's identity, which the leader will send to. An earlier stream
// becomes stale. Lock held.
func (n *raft) createCatchup(ae *appendEntry) string {
	if old := n.catchup; old != nil {
		n.unsubscribe(old.sub)
	}
	inbox := n.newCatchupInbox()
	sub, err := n.subscribe(inbox, n.handleAppendEntry)
	if err != nil {
		// The leader's stream will find no listener; the stall check
		// then asks again with a new inbox.
		n.warn("Error subscribing to catchup inbox %q: %v", inbox, err)
	}
	n.catchup = &catchupState{
		sub: sub, active: time.Now(),
		cterm: ae.pterm, cindex: ae.pindex,
		pterm: n.pterm, pindex: n.pindex,
	}
	n.cu.current = sub
	return inbox
}

// cancelCatchup ends the catchup under way and drops its inbox. A
// catchup that brought us to its target leaves its stream current, so
// the tail of it still in flight may continue our log; one ended short
// of it (stalled, cut back, refused) leaves it stale. Lock held.
func (n *raft) cancelCatchup() {
	n.debug("Log is current, closing the catchup inbox")
	n.cu.current = nil
	if cs := n.catchup; cs != nil {
		if protocol.TargetReached(protocol.Position{Term: n.pterm, Index: n.pindex}, protocol.Position{Term: cs.cterm, Index: cs.cindex}) {
			n.cu.current = cs.sub
		}
		n.cancelCatchupSignal()
		n.unsubscribe(cs.sub)
	}
	n.catchup = nil
}

// streamingTo reports whether we send a catchup stream to peer. Lock
// held.
func (n *raft) streamingTo(peer string) bool { return n.cu.out[peer] != nil }

// catchupStalled reports whether the catchup made no progress for longer
// than the activity interval; called on each new entry from the leader
// and at each election timeout. Lock held.
func (n *raft) catchupStalled() bool {
	cs := n.catchup
	if cs == nil {
		return false
	}
	w := protocol.Stall{Mark: cs.pindex, Since: cs.active}
	_, stalled := w.Observe(n.pindex, time.Now(), n.catchupActivityInterval())
	cs.pindex, cs.active = w.Mark, w.Since
	return stalled
}

// catchupQuiet reports whether the catchup under way was asked for, or
// last moved, at least a heartbeat ago. Only then may live entries held
// back be taken as a sign that the request or its answer was lost: a
// burst of live entries queued before the answer could arrive is none,
// and asking again for each few of them started a stream per ask. Lock
// held.
func (n *raft) catchupQuiet() bool {
	cs := n.catchup
	return cs == nil || time.Since(cs.active) >= n.timing.HeartbeatInterval
}

// sendCatchupSignal tells the state machine that the entries that follow
// are catchup entries, up to a nil entry. Lock held.
func (n *raft) sendCatchupSignal() {
	if cs := n.catchup; cs != nil && !cs.signal {
		cs.signal = true
		n.apply.Push(newCommittedEntry(0, []*Entry{{Type: EntryCatchup}}))
	}
}

// cancelCatchupSignal ends the catchup run signalled to the state machine.
// Lock held.
func (n *raft) cancelCatchupSignal() {
	if cs := n.catchup; cs != nil && cs.signal {
		n.apply.Push(nil)
	}
}
