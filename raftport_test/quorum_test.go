package raftport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// TestNRGQuorumAccounting ports test 2663: with five members a leader
// commits only once two followers acknowledged, not after one.
func TestNRGQuorumAccounting(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(nats1))
	require_NoError(t, p.AddPeer(nats2))

	aeHeartbeat1Response := raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats1, Success: true}
	aeHeartbeat2Response := raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats2, Success: true}

	// Two responses from other members are needed for a quorum.
	require_NoError(t, n.AdjustBootClusterSize(5))
	r := p.Replication()
	require_Equal(t, r.ClusterSize, 5)
	require_Equal(t, r.Quorum, 3)

	// Becoming leader stores a first entry.
	p.SwitchToLeader()
	require_Equal(t, p.Replication().PIndex, 1)

	p.ProcessAppendEntryResponse(aeHeartbeat1Response)
	require_Equal(t, p.Replication().Commit, 0)

	p.ProcessAppendEntryResponse(aeHeartbeat2Response)
	require_Equal(t, p.Replication().Commit, 1)
}

// TestNRGRevalidateQuorumAfterLeaderChange ports test 2664: acks counted
// in an earlier term must not count after the node leads again.
func TestNRGRevalidateQuorumAfterLeaderChange(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(nats1))
	require_NoError(t, p.AddPeer(nats2))

	aeHeartbeat1Response := raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats1, Success: true}
	aeHeartbeat2Response := raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats2, Success: true}

	require_NoError(t, n.AdjustBootClusterSize(5))
	r := p.Replication()
	require_Equal(t, r.ClusterSize, 5)
	require_Equal(t, r.Quorum, 3)

	p.SetTerm(p.Replication().Term + 1)
	p.SwitchToLeader()
	r = p.Replication()
	require_Equal(t, r.Term, 1)
	require_Equal(t, r.PIndex, 1)

	// One follower stored it; with our own copy that is two of three.
	p.ProcessAppendEntryResponse(aeHeartbeat1Response)
	require_Equal(t, p.Replication().Commit, 0)
	require_Len(t, len(p.Acks()), 1)

	// After a stepdown we cannot know whether the first entry survived.
	p.Stepdown("")

	p.SetTerm(6)
	p.SwitchToLeader()
	require_Equal(t, p.Replication().Term, 6)

	// The earlier ack is void: counting restarts, commit stays.
	p.ProcessAppendEntryResponse(aeHeartbeat2Response)
	require_Equal(t, p.Replication().Commit, 0)
	require_Len(t, len(p.Acks()), 1)
}

// TestNRGIgnoreTrackResponseWhenNotLeader ports test 2667: a response
// that arrives after stepping down does not commit anything.
func TestNRGIgnoreTrackResponseWhenNotLeader(t *testing.T) {
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(nats1))
	// Keep the quorum at 2 so the leader's first entry does not commit
	// by itself.
	p.SetScaleUpTime(time.Time{})

	p.SetTerm(p.Replication().Term + 1)
	p.SwitchToLeader()
	r := p.Replication()
	require_Equal(t, r.Term, 1)
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 1)
	require_Equal(t, r.Commit, 0)

	p.Stepdown("")
	r = p.Replication()
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.PTerm, 1)
	require_Equal(t, r.Commit, 0)

	// As leader this would commit; as follower it must be ignored.
	p.TrackResponse(raftport.ResponseSpec{Term: 1, Index: 1, Peer: "peer", Success: true})
	require_Equal(t, p.Replication().Commit, 0)
}

// TestNRGSendAppendEntryNotLeader ports test 2687: sendAppendEntry takes
// the lock itself and must refuse to store or send once not leader.
func TestNRGSendAppendEntryNotLeader(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	require_Equal(t, n.State(), raftport.Follower)
	require_Equal(t, p.Replication().PIndex, 0)

	nc := c.client()
	asubj := p.AppendSubject()
	ch, sub := chanSubscribe(t, nc, asubj, 1)
	defer sub.Unsubscribe()

	p.SendAppendEntry([]*raftport.Entry{{Type: raftport.EntryNormal}})

	// Nothing stored, and nothing was published: once the network is idle
	// no append entry was sent nor is one on its way.
	require_Equal(t, p.Replication().PIndex, 0)
	require_NoError(t, c.net.WaitIdle(5*time.Second))
	require_Equal(t, c.net.Stats(asubj).Sent, 0)
	require_NoChanRead(t, ch, 250*time.Millisecond)
}

// TestNRGLostQuorum ports test 2690: a follower or candidate without
// recent contact reports no quorum; winning an election restores it.
func TestNRGLostQuorum(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	require_NoError(t, p.AddPeer(nats1))
	// Leave out the scale-up grace period: this is about peer tracking.
	p.SetScaleUpTime(time.Time{})

	require_Equal(t, n.State(), raftport.Follower)
	require_False(t, n.Quorum())
	require_True(t, p.LostQuorum())

	// nats-0 grants every vote it is asked for.
	nc := c.client()
	sub, err := nc.Subscribe(p.Subjects().Vote, func(_, reply string, data []byte) {
		req, err := raftport.DecodeVoteRequest(data, reply)
		if err != nil {
			return
		}
		resp := raftport.EncodeVoteResponse(raftport.VoteResponseSpec{Term: req.Term, Peer: nats0, Granted: true})
		_ = nc.Publish(reply, "", resp)
	})
	require_NoError(t, err)
	defer sub.Unsubscribe()

	// A candidate has heard from nobody yet.
	p.SwitchToCandidate()
	require_Equal(t, n.State(), raftport.Candidate)
	require_False(t, n.Quorum())
	require_True(t, p.LostQuorum())

	require_NoError(t, p.AddPeer(nats0))

	p.RunAsCandidate()
	require_Equal(t, n.State(), raftport.Leader)
	require_True(t, n.Quorum())
	require_False(t, p.LostQuorum())
}

// TestNRGQuorumAfterLeaderStepdown ports test 2694: a leader that hands
// over keeps its peers' last-seen times, so it still reports a quorum;
// once it follows the new leader it tracks only that leader.
func TestNRGQuorumAfterLeaderStepdown(t *testing.T) {
	// As the reference: default election and heartbeat timings.
	tm := fastTiming()
	def := raftport.DefaultTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout, tm.HeartbeatInterval = def.MinElectionTimeout, def.MaxElectionTimeout, def.HeartbeatInterval
	c := createRaftClusterWithTiming(t, "R3S", 3, tm)
	defer c.shutdown()
	n, p := initSingleMemRaftNodeOn(t, c)

	require_NoError(t, p.AddPeer(nats0))
	require_NoError(t, p.AddPeer(nats1))

	p.SwitchToCandidate()
	p.SwitchToLeader()

	// No quorum until at least one peer was heard from. (The reference
	// also registers the peers' server info, which only feeds names into
	// its logs and has no counterpart here.)
	require_False(t, n.Quorum())
	require_NoError(t, p.TrackPeer(nats0))
	require_True(t, n.Quorum())
	require_NoError(t, p.TrackPeer(nats1))
	require_True(t, n.Quorum())
	require_Len(t, len(p.PeerViews()), 3)
	for peer := range p.PeerViews() {
		require_NoError(t, p.SetPeerKnown(peer, true))
	}

	// Handing off leadership keeps every peer's timestamp.
	require_NoError(t, n.StepDown())
	require_True(t, n.Quorum())
	views := p.PeerViews()
	require_Len(t, len(views), 3)
	for peer, ps := range views {
		if peer == n.ID() {
			continue
		}
		require_False(t, ps.LastSeen.IsZero())
	}

	// Following the new leader, only its timestamp is kept.
	p.UpdateLeader(nats0)
	require_Equal(t, p.Replication().Leader, nats0)
	require_True(t, n.Quorum())
	views = p.PeerViews()
	require_Len(t, len(views), 3)
	for peer, ps := range views {
		if peer == n.ID() {
			continue
		}
		if peer == nats0 {
			require_False(t, ps.LastSeen.IsZero())
		} else {
			require_True(t, ps.LastSeen.IsZero())
		}
	}
}

// initSingleMemRaftNodeOn is initSingleMemRaftNode on an existing cluster.
func initSingleMemRaftNodeOn(t *testing.T, c *cluster) (raftport.RaftNode, *raftport.Probe) {
	t.Helper()
	s := c.servers[0]
	cfg := &raftport.RaftConfig{Name: "TEST", Store: t.TempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	return n, p
}

// TestNRGAppendEntryResurrectsLeader ports test 2712: a leftover append
// entry from a removed leader must not bring it back into the peer set.
func TestNRGAppendEntryResurrectsLeader(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(hostS2))
	require_Equal(t, len(p.PeerViews()), 2)
	require_Equal(t, n.ClusterSize(), 2)

	aeRemovePeer := encode(t, raftport.AppendEntrySpec{
		Leader: hostS2, Term: 1, Commit: 0, PTerm: 0, PIndex: 0,
		Entries: []*raftport.Entry{{Type: raftport.EntryRemovePeer, Data: []byte(hostS2)}},
	})
	require_NoError(t, p.ProcessAppendEntry(aeRemovePeer, p.AESub()))

	// A heartbeat commits the removal.
	aeHeartBeat := encode(t, raftport.AppendEntrySpec{Leader: hostS2, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	require_NoError(t, p.ProcessAppendEntry(aeHeartBeat, p.AESub()))

	require_Equal(t, len(p.PeerViews()), 1)
	require_Equal(t, n.ClusterSize(), 1)

	// Another entry from the removed leader must not resurrect it.
	aeHeartBeat2 := encode(t, raftport.AppendEntrySpec{Leader: hostS2, Term: 1, Commit: 1, PTerm: 1, PIndex: 1})
	require_NoError(t, p.ProcessAppendEntry(aeHeartBeat2, p.AESub()))

	require_Equal(t, len(p.PeerViews()), 1)
	require_Equal(t, n.ClusterSize(), 1)
}

// TestNRGAppendEntryCanEstablishQuorumAfterLeaderChange ports test 2662: a
// new leader's first heartbeat response commits an entry of the previous
// term, and the applied floor clears once that is applied.
func TestNRGAppendEntryCanEstablishQuorumAfterLeaderChange(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(nats0))

	aeMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: sampleEntries()})
	aeHeartbeatResponse := raftport.ResponseSpec{Term: 1, Index: 2, Peer: nats0, Success: true}

	processAE(t, p, aeMsg, p.AESub())
	r := p.Replication()
	require_Equal(t, r.PIndex, 1)
	require_Equal(t, r.ApplyFloor, 0)

	// As new leader we cannot know whether the entry has a quorum; taking
	// office sends an entry.
	p.SwitchToLeader()
	r = p.Replication()
	require_Equal(t, r.ApplyFloor, 2)
	require_Equal(t, r.Commit, 0)

	// The follower's success moves the commit up.
	p.ProcessAppendEntryResponse(aeHeartbeatResponse)
	r = p.Replication()
	require_Equal(t, r.Commit, 2)
	require_Equal(t, r.ApplyFloor, 2)

	// Applying it resets the floor.
	n.Applied(2)
	require_Equal(t, p.Replication().ApplyFloor, 0)
}

// aeResponses subscribes a test client to subject, where the node under
// test answers append entries.
func aeResponses(t *testing.T, c *cluster, subject string) chan *message {
	t.Helper()
	ch, sub := chanSubscribe(t, c.client(), subject, 16)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

// requireNoResponse checks that no answer was sent: once the network is
// idle, whatever was published has been delivered.
func requireNoResponse(t *testing.T, c *cluster, ch chan *message) {
	t.Helper()
	require_NoError(t, c.net.WaitIdle(5*time.Second))
	select {
	case msg := <-ch:
		t.Fatalf("expected no response, got %d bytes on %s", len(msg.Data), msg.Subject)
	default:
	}
}

// requireResponse returns the answer that was sent.
func requireResponse(t *testing.T, c *cluster, ch chan *message) (raftport.ResponseSpec, *message) {
	t.Helper()
	require_NoError(t, c.net.WaitIdle(5*time.Second))
	msg := require_ChanRead(t, ch, time.Second)
	ar, err := raftport.DecodeAppendEntryResponse(msg.Data, msg.Reply)
	require_NoError(t, err)
	return ar, msg
}

// TestNRGCatchupDontCountTowardQuorum ports test 2666: a follower never
// acknowledges catchup entries, only live ones, so a leader cannot count
// it towards a quorum for a log it does not fully hold.
func TestNRGCatchupDontCountTowardQuorum(t *testing.T) {
	_, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeReply := "$TEST"
	responses := aeResponses(t, c, aeReply)

	aeMissedMsg := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries, Reply: aeReply})
	trigger := raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 1, Entries: entries, Reply: aeReply}
	aeCatchupTrigger := encode(t, trigger)
	aeHeartbeat := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 1, PIndex: 2, Reply: aeReply})

	// We missed everything so far.
	processAE(t, p, aeCatchupTrigger, p.AESub())
	cv := requireCatchup(t, p)
	require_Equal(t, cv.PTerm, 0)
	require_Equal(t, cv.PIndex, 0)
	require_Equal(t, cv.CTerm, trigger.PTerm)
	require_Equal(t, cv.CIndex, trigger.PIndex)

	// We answer that we need a catchup, on a catchup inbox.
	ar, msg := requireResponse(t, c, responses)
	require_Equal(t, ar.Index, 0)
	require_False(t, ar.Success)
	require_True(t, strings.HasPrefix(msg.Reply, "$NRG.CR"))

	// Catchup entries are never answered.
	processAE(t, p, aeMissedMsg, p.CatchupSub())
	requireNoResponse(t, c, responses)

	processAE(t, p, aeCatchupTrigger, p.CatchupSub())
	requireNoResponse(t, c, responses)

	// Caught up: the catchup ends and a live entry is acknowledged.
	processAE(t, p, aeHeartbeat, p.AESub())
	ar, msg = requireResponse(t, c, responses)
	require_Equal(t, ar.Index, aeHeartbeat.Spec().PIndex)
	require_True(t, ar.Success)
	require_Equal(t, msg.Reply, "")
}

// TestNRGDelayedMessagesAfterCatchupDontCountTowardQuorum ports test 2681:
// live entries delayed past a catchup that already stored them are not
// acknowledged; only the newest one is.
func TestNRGDelayedMessagesAfterCatchupDontCountTowardQuorum(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	defer c.shutdown()

	entries := sampleEntries()
	aeReply := "$TEST"
	aeMsg1 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: entries, Reply: aeReply})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 1, Entries: entries, Reply: aeReply})
	aeMsg3 := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, Commit: 1, PTerm: 1, PIndex: 2, Entries: entries, Reply: aeReply})

	// Triggers a catchup.
	processAE(t, p, aeMsg3, p.AESub())
	requireCatchup(t, p)

	// The catchup runs part of the way.
	processAE(t, p, aeMsg1, p.CatchupSub())
	processAE(t, p, aeMsg2, p.CatchupSub())
	r := p.Replication()
	require_Equal(t, r.PIndex, 2)
	require_Equal(t, r.Commit, 1)
	n.Applied(1)
	require_Equal(t, p.Replication().Applied, 1)
	require_NoError(t, n.InstallSnapshot(nil, false))

	responses := aeResponses(t, c, aeReply)

	// Delayed live entries: answering them would offer a quorum for a log
	// we do not hold up to date.
	processAE(t, p, aeMsg1, p.AESub())
	require_Equal(t, p.Replication().PIndex, 2)
	requireNoResponse(t, c, responses)

	processAE(t, p, aeMsg2, p.AESub())
	require_Equal(t, p.Replication().PIndex, 2)
	requireNoResponse(t, c, responses)

	// The newest entry is stored and acknowledged.
	processAE(t, p, aeMsg3, p.AESub())
	require_Equal(t, p.Replication().PIndex, 3)
	ar, msg := requireResponse(t, c, responses)
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
	// during the settle time and take leadership from ml before the
	// planned handover.
	tm := fastTiming()
	tm.HeartbeatInterval = 50 * time.Millisecond
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 1500*time.Millisecond, 3500*time.Millisecond
	tm.LostQuorumInterval, tm.LostQuorumCheck = 2*time.Second, 200*time.Millisecond
	c := createRaftClusterWithTiming(t, "R3S", 3, tm)
	defer c.shutdown()

	// As in the reference: wait 2s and accept a last contact up to 1s old.
	settle, recent := 2*time.Second, time.Second

	checkLastSeen := func(n raftport.RaftNode) {
		t.Helper()
		for _, peer := range n.Peers() {
			if peer.ID == n.ID() || peer.Last.IsZero() {
				continue
			}
			require_LessThan(t, time.Since(peer.Last), recent)
		}
	}

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	ml := campaignAndWaitOnLeader(t, rg)
	rs := rg.nonLeader()
	var preferred stateMachine
	for _, sm := range rg {
		if sm != ml && sm != rs {
			preferred = sm
			break
		}
	}
	require_NotNil(t, preferred)

	time.Sleep(settle)
	checkLastSeen(rs.node())

	require_NoError(t, ml.node().StepDown(preferred.node().ID()))

	time.Sleep(settle)
	checkLastSeen(rs.node())
}

// TestNRGSendSnapshotInstallsSnapshot ports test 2693: a snapshot the
// leader sends (as on a scale-up) becomes its own snapshot once the entry
// commits, and can be drained and replayed.
func TestNRGSendSnapshotInstallsSnapshot(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	require_NoError(t, p.AddPeer(nats0))
	require_NoError(t, p.AddPeer(nats1))

	require_Equal(t, p.Replication().PIndex, 0)
	require_Equal(t, p.SnapFile(), "")

	// Become candidate, then leader.
	require_Equal(t, p.Replication().Term, 0)
	p.SwitchToCandidate()
	require_Equal(t, p.Replication().Term, 1)

	// Taking office stores an entry.
	p.SwitchToLeader()
	require_Equal(t, p.Replication().PIndex, 1)
	require_Equal(t, p.SnapFile(), "")
	require_NoError(t, p.ApplyCommit(1))
	require_Equal(t, p.SnapFile(), "")

	// A scale-up sends a snapshot.
	require_NoError(t, n.SendSnapshot([]byte("snapshot_data")))
	require_Equal(t, p.Replication().PIndex, 2)
	require_Equal(t, p.SnapFile(), "")

	// Committing it installs it.
	require_NoError(t, p.ApplyCommit(2))
	require_NotEqual(t, p.SnapFile(), "")

	snap, err := p.LoadLastSnapshot()
	require_NoError(t, err)
	require_Equal(t, snap.LastTerm, 1)
	require_Equal(t, snap.LastIndex, 1)
	require_Equal(t, string(snap.Data), "snapshot_data")

	require_True(t, n.DrainAndReplaySnapshot())
}
