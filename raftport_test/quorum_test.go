package raftport_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// sizedAt checks the cluster size and quorum the node counts with.
func sizedAt(size, quorum int) check {
	return all(
		field("cluster size", func(st *stepped) int { return st.state().ClusterSize }, size),
		field("quorum", func(st *stepped) int { return st.state().Quorum }, quorum))
}

// acksCounted checks how many indexes have acks counted towards them.
func acksCounted(want int) check {
	return field("indexes with acks", func(st *stepped) int { return len(st.p.Acks()) }, want)
}

// fiveMembersOfWhichTwoKnown has the stepped node know nats1 and nats2
// as peers and count a cluster of five, so that a quorum needs two other
// members' acks.
func fiveMembersOfWhichTwoKnown(st *stepped) {
	st.t.Helper()
	st.addPeers(nats1, nats2)
	require_NoError(st.t, st.n.AdjustBootClusterSize(5))
	st.expect(sizedAt(5, 3))
}

// leadNextTerm makes the stepped node leader of the term after its own,
// which stores a first entry.
func (st *stepped) leadNextTerm(checks ...check) {
	st.t.Helper()
	st.p.SetTerm(st.state().Term + 1)
	st.p.SwitchToLeader()
	st.expect(checks...)
}

// TestNRGQuorumAccounting ports test 2663: with five members a leader
// commits only once two followers acknowledged, not after one.
func TestNRGQuorumAccounting(t *testing.T) {
	st := stepNode(t)
	fiveMembersOfWhichTwoKnown(st)

	st.p.SwitchToLeader()
	st.expect(lastIndex(1))
	st.ack(ackFrom(nats1, 1, 1, true), committed(0))
	st.ack(ackFrom(nats2, 1, 1, true), committed(1))
}

// TestNRGRevalidateQuorumAfterLeaderChange ports test 2664: acks counted
// in an earlier term must not count after the node leads again.
func TestNRGRevalidateQuorumAfterLeaderChange(t *testing.T) {
	st := stepNode(t)
	fiveMembersOfWhichTwoKnown(st)

	// One follower stored the first entry; with our own copy that is two
	// of three.
	st.leadNextTerm(inTerm(1), lastIndex(1))
	st.ack(ackFrom(nats1, 1, 1, true), committed(0), acksCounted(1))

	// After a stepdown we cannot know whether the first entry survived:
	// leading again, in term 6, the earlier ack is void, so counting
	// restarts and the commit stays.
	st.p.Stepdown("")
	st.p.SetTerm(6)
	st.p.SwitchToLeader()
	st.expect(inTerm(6))
	st.ack(ackFrom(nats2, 1, 1, true), committed(0), acksCounted(1))
}

// TestNRGIgnoreTrackResponseWhenNotLeader ports test 2667: a response
// that arrives after stepping down does not commit anything.
func TestNRGIgnoreTrackResponseWhenNotLeader(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats1)
	// Keep the quorum at 2 so the leader's first entry does not commit
	// by itself.
	st.p.SetScaleUpTime(time.Time{})

	st.leadNextTerm(inTerm(1), tip(1, 1), committed(0))
	st.p.Stepdown("")
	st.expect(tip(1, 1), committed(0))

	// As leader this would commit; as follower it must be ignored.
	st.p.TrackResponse(ackFrom("peer", 1, 1, true))
	st.expect(committed(0))
}

// TestNRGSendAppendEntryNotLeader ports test 2687: sendAppendEntry takes
// the lock itself and must refuse to store or send once not leader.
func TestNRGSendAppendEntryNotLeader(t *testing.T) {
	st := stepNode(t)
	st.expect(inState(raftport.Follower), lastIndex(0))
	subject := st.p.AppendSubject()
	sent := st.c.watch(subject, 1)

	st.p.SendAppendEntry([]*raftport.Entry{{Type: raftport.EntryNormal}})

	// Nothing stored, and nothing was published: once the network is idle
	// no append entry was sent nor is one on its way.
	st.expect(lastIndex(0))
	require_NoError(t, st.c.net.WaitIdle(5*time.Second))
	require_Equal(t, st.c.net.Stats(subject).Sent, 0)
	require_NoChanRead(t, sent, 250*time.Millisecond)
}

// quorumLost checks both the public Quorum and the node's own view of a
// lost quorum, which say the opposite of each other.
func quorumLost(lost bool) check {
	return all(hasQuorum(!lost), field("lost quorum", func(st *stepped) bool { return st.p.LostQuorum() }, lost))
}

// TestNRGLostQuorum ports test 2690: a follower or candidate without
// recent contact reports no quorum; winning an election restores it.
func TestNRGLostQuorum(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats1)
	// Leave out the scale-up grace period: this is about peer tracking.
	st.p.SetScaleUpTime(time.Time{})
	st.expect(inState(raftport.Follower), quorumLost(true))

	// nats-0 grants every vote it is asked for.
	nc := st.c.client()
	sub, err := nc.Subscribe(st.p.Subjects().Vote, func(_, reply string, data []byte) {
		if req, err := codec.DecodeVoteRequest(data, reply); err == nil {
			grant := voteAnswer{Term: req.Term, Peer: nats0, Granted: true}
			_ = nc.Publish(reply, "", codec.EncodeVoteResponse(grant))
		}
	})
	require_NoError(t, err)
	defer sub.Unsubscribe()

	// A candidate has heard from nobody yet.
	st.becomeCandidate(inState(raftport.Candidate), quorumLost(true))

	st.addPeers(nats0)
	st.p.RunAsCandidate()
	st.expect(inState(raftport.Leader), quorumLost(false))
}

// lastSeen says, for every peer but the node itself, whether the node
// has a time it last heard from it.
func (st *stepped) lastSeen() map[string]bool {
	seen := map[string]bool{}
	for peer, view := range st.p.PeerViews() {
		if peer != st.n.ID() {
			seen[peer] = !view.LastSeen.IsZero()
		}
	}
	return seen
}

// TestNRGQuorumAfterLeaderStepdown ports test 2694: a leader that hands
// over keeps its peers' last-seen times, so it still reports a quorum;
// once it follows the new leader it tracks only that leader.
func TestNRGQuorumAfterLeaderStepdown(t *testing.T) {
	// As the reference: default election and heartbeat timings.
	tm, def := fastTiming(), raftport.DefaultTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout, tm.HeartbeatInterval = def.MinElectionTimeout, def.MaxElectionTimeout, def.HeartbeatInterval
	st := createRaftClusterWithTiming(t, "R3S", 3, tm).stepNode(nodeSetup{})
	st.addPeers(nats0, nats1)
	peersKnown := field("peers", func(st *stepped) int { return len(st.p.PeerViews()) }, 3)

	st.p.SwitchToCandidate()
	st.p.SwitchToLeader()

	// No quorum until at least one peer was heard from. (The reference
	// also registers the peers' server info, which only feeds names into
	// its logs and has no counterpart here.)
	st.expect(hasQuorum(false))
	require_NoError(t, st.p.TrackPeer(nats0))
	st.expect(hasQuorum(true))
	require_NoError(t, st.p.TrackPeer(nats1))
	st.expect(hasQuorum(true), peersKnown)
	for peer := range st.p.PeerViews() {
		require_NoError(t, st.p.SetPeerKnown(peer, true))
	}

	// Handing off leadership keeps every peer's timestamp.
	require_NoError(t, st.n.StepDown())
	st.expect(hasQuorum(true), peersKnown)
	for _, seen := range st.lastSeen() {
		require_True(t, seen)
	}

	// Following the new leader, only its timestamp is kept.
	st.p.UpdateLeader(nats0)
	st.expect(field("leader", func(st *stepped) string { return st.state().Leader }, nats0), hasQuorum(true), peersKnown)
	for peer, seen := range st.lastSeen() {
		require_Equal(t, seen, peer == nats0)
	}
}

// TestNRGAppendEntryResurrectsLeader ports test 2712: a leftover append
// entry from a removed leader must not bring it back into the peer set.
func TestNRGAppendEntryResurrectsLeader(t *testing.T) {
	// stepNode's cluster, with the log of the node's host kept.
	c := createRaftCluster(t, "R3S", 0)
	_, logged := c.loggedHost(serverName(0), c.timing)
	c.addInNewServer()
	c.addInNewServer()
	st := c.stepNode(nodeSetup{})
	st.addPeers(hostS2)
	members := func(want int) check {
		return all(field("peers", func(st *stepped) int { return len(st.p.PeerViews()) }, want), sizedAt(want, want/2+1))
	}
	st.expect(members(2))

	// S-2 removes itself, and a heartbeat commits the removal.
	removed := aeFrom(hostS2, 1)
	st.live(removed.after(0, 0).carrying(removing(hostS2)))
	st.live(removed.after(1, 1).committing(1), members(1))

	// Another entry from the removed leader must not resurrect it.
	st.live(removed.after(1, 1).committing(1), members(1))

	// Shrinking the group went without a hitch: nothing to warn about.
	require_Equal(t, logged.count(slog.LevelWarn, ""), 0)
}

// applyFloor checks the index a new leader waits to apply before it
// signals leadership.
func applyFloor(want uint64) check {
	return counter("apply floor", func(r replicationState) uint64 { return r.ApplyFloor }, want)
}

// TestNRGAppendEntryCanEstablishQuorumAfterLeaderChange ports test 2662: a
// new leader's first heartbeat response commits an entry of the previous
// term, and the applied floor clears once that is applied.
func TestNRGAppendEntryCanEstablishQuorumAfterLeaderChange(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0)
	st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), lastIndex(1), applyFloor(0))

	// As new leader we cannot know whether the entry has a quorum; taking
	// office sends an entry, whose acknowledgement commits both.
	st.p.SwitchToLeader()
	st.expect(applyFloor(2), committed(0))
	st.ack(ackFrom(nats0, 1, 2, true), committed(2), applyFloor(2))

	st.applied(2, applyFloor(0))
}

// TestNRGCatchupDontCountTowardQuorum ports test 2666: a follower never
// acknowledges catchup entries, only live ones, so a leader cannot count
// it towards a quorum for a log it does not fully hold.
func TestNRGCatchupDontCountTowardQuorum(t *testing.T) {
	st := stepNode(t)
	answers := st.repliesOn("$TEST")
	leader := aeFrom(nats0, 1).answerTo("$TEST")
	missed, trigger := leader.after(0, 0).withEntry(), leader.after(1, 1).withEntry()
	heartbeat := leader.after(1, 2)

	// We missed everything so far, and answer that we need a catchup, on
	// a catchup inbox.
	st.live(trigger, catchupFrom(0, 0), catchupUpTo(trigger.PTerm, trigger.PIndex))
	ar, msg := answers.next()
	require_Equal(t, ar.Index, 0)
	require_False(t, ar.Success)
	onCatchupInbox(t, msg)

	// Catchup entries are never answered.
	st.catchup(missed)
	answers.none()
	st.catchup(trigger)
	answers.none()

	// Caught up: the catchup ends and a live entry is acknowledged.
	st.live(heartbeat)
	ar, msg = answers.next()
	require_Equal(t, ar.Index, heartbeat.PIndex)
	require_True(t, ar.Success)
	require_Equal(t, msg.Reply, "")
}

// TestNRGDelayedMessagesAfterCatchupDontCountTowardQuorum ports test 2681:
// live entries delayed past a catchup that already stored them are not
// acknowledged; only the newest one is.
func TestNRGDelayedMessagesAfterCatchupDontCountTowardQuorum(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1).withEntry().answerTo("$TEST")
	first, second, third := leader.after(0, 0), leader.after(1, 1).committing(1), leader.after(1, 2).committing(1)

	// A catchup runs part of the way, its entries applied and snapshotted.
	st.live(third, catchingUp())
	st.catchup(first)
	st.catchup(second, lastIndex(2), committed(1))
	st.applied(1, appliedAt(1))
	st.snapshot()

	// Delayed live entries: answering them would offer a quorum for a log
	// we do not hold up to date.
	answers := st.repliesOn("$TEST")
	for _, delayed := range []aeDraft{first, second} {
		st.live(delayed, lastIndex(2))
		answers.none()
	}

	// The newest entry is stored and acknowledged.
	st.live(third, lastIndex(3))
	ar, msg := answers.next()
	require_Equal(t, ar.Index, 3)
	require_True(t, ar.Success)
	require_Equal(t, msg.Reply, "")
}

// TestNRGTrackPeerActive ports test 2689: a leader tracks when it last
// heard from every peer, a follower only from its leader, so no follower
// reports a stale last-seen time, before or after a leader change. (The
// reference reads these through the server's Raftz report of the meta
// group; here the group's own Peers report.)
func TestNRGTrackPeerActive(t *testing.T) {
	// The reference's test timing: a 50ms heartbeat and elections after
	// 1.5s to 3.5s, so that a loaded machine does not hold an election
	// during the settle time and take leadership from the leader before
	// the planned handover.
	tm := fastTiming()
	tm.HeartbeatInterval = 50 * time.Millisecond
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 1500*time.Millisecond, 3500*time.Millisecond
	tm.LostQuorumInterval, tm.LostQuorumCheck = 2*time.Second, 200*time.Millisecond
	_, rg := startAdders(t, groupSpec{memory: true, timing: tm})
	// As in the reference: wait 2s and accept a last contact up to 1s old.
	settle, recent := 2*time.Second, time.Second

	leader := campaignAndWaitOnLeader(t, rg)
	watched := rg.nonLeader()
	preferred := rg.first(func(sm *stateAdder) bool { return sm != leader && sm != watched })
	require_NotNil(t, preferred)
	noStaleContact := func() {
		t.Helper()
		n := watched.node()
		for _, peer := range n.Peers() {
			if peer.ID != n.ID() && !peer.Last.IsZero() {
				require_LessThan(t, time.Since(peer.Last), recent)
			}
		}
	}

	time.Sleep(settle)
	noStaleContact()
	require_NoError(t, leader.node().StepDown(preferred.node().ID()))
	time.Sleep(settle)
	noStaleContact()
}

// TestNRGSendSnapshotInstallsSnapshot ports test 2693: a snapshot the
// leader sends (as on a scale-up) becomes its own snapshot once the entry
// commits, and can be drained and replayed.
func TestNRGSendSnapshotInstallsSnapshot(t *testing.T) {
	st := stepNode(t)
	st.addPeers(nats0, nats1)
	snapFile := func(installed bool) check {
		return field("snapshot file set", func(st *stepped) bool { return st.p.SnapFile() != "" }, installed)
	}
	committedNow := func(index uint64, checks ...check) {
		t.Helper()
		require_NoError(t, st.p.ApplyCommit(index))
		st.expect(checks...)
	}

	st.expect(lastIndex(0), snapFile(false), inTerm(0))
	st.becomeCandidate(inTerm(1))

	// Taking office stores an entry.
	st.p.SwitchToLeader()
	st.expect(lastIndex(1), snapFile(false))
	committedNow(1, snapFile(false))

	// A scale-up sends a snapshot, which committing installs.
	require_NoError(t, st.n.SendSnapshot([]byte("snapshot_data")))
	st.expect(lastIndex(2), snapFile(false))
	committedNow(2, snapFile(true), lastSnapshot(1, 1), snapshotHolds("snapshot_data"))

	require_True(t, st.n.DrainAndReplaySnapshot())
	// The apply queue now holds only the snapshot, at the index it
	// covers, and applies are paused with the commit held.
	st.expect(paused(true), heldCommit(2), committed(1))
	st.applyQueueHolds(1, &raftport.Entry{Type: raftport.EntrySnapshot, Data: []byte("snapshot_data")})
}
