package raftport_test

// End-to-end tests of what a node reports when a send or a membership
// proposal fails, of the term and vote a restart reads back, of vote
// replies arriving in each role, and of a catchup that ends while its
// follower decides not to campaign. The nodes are stepped by hand, so each
// test takes milliseconds and sees every step exactly.

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// debugLogHost is apiLogHost with debug logging on from the start.
func debugLogHost(t *testing.T) (*cluster, *raftport.Server, *logCapture) {
	t.Helper()
	return apiLogHost(t, func(cfg *raftport.ServerConfig) { cfg.Debug = true })
}

// TestE2ESendFailuresAreLogged: a node that cannot send an append entry
// (it no longer leads, or its storage failed), cannot send its peer state,
// or cannot propose adding a peer it heard from, says so in one debug line
// naming the cause; sends and proposals that work log no such line.
func TestE2ESendFailuresAreLogged(t *testing.T) {
	c, s, logs := debugLogHost(t)
	st := c.stepNodeOn(s, nodeSetup{group: "SEND", peers: []string{s.ID(), nats0, nats1}})
	line := func(format string, args ...any) string { return nodeLine(s, "SEND", format, args...) }
	notSent := line("Append entry not sent: ")
	noPeerState := line("Could not send peer state: ")
	noTrack := line("Error tracking peer ")

	// A follower sends nothing, and says why.
	st.p.SendAppendEntry(sampleEntries())
	st.expect(tip(0, 0))
	require_Equal(t, logCount(logs, line("Append entry not sent: %v", raftport.ErrNotLeader)), 1)
	require_Equal(t, logPrefixCount(logs, notSent), 1)

	// As leader, an entry, a resize's peer state and the proposal to add
	// a peer it hears from all go out without a complaint.
	st.leadByHand()
	term := st.n.Term()
	st.p.SendAppendEntry(sampleEntries())
	st.expect(tip(term, 2))
	require_NoError(t, st.n.AdjustClusterSize(4))
	st.expect(tip(term, 3), clusterSize(4))
	st.ack(ackFrom(nats2, term, 1, true))
	require_Equal(t, st.p.PendingProposals(), 1)
	require_Equal(t, logPrefixCount(logs, notSent), 1)
	require_Equal(t, logPrefixCount(logs, noPeerState), 0)
	require_Equal(t, logPrefixCount(logs, noTrack), 0)

	// Once storage failed, nothing more is stored and each failure is
	// reported with the write error.
	diskErr := errors.New("disk refused the write")
	st.p.SetWriteErr(diskErr)
	st.p.SendAppendEntry(sampleEntries())
	st.expect(tip(term, 3))
	require_Equal(t, logCount(logs, line("Append entry not sent: %v", diskErr)), 1)
	require_Equal(t, logPrefixCount(logs, notSent), 2)

	require_NoError(t, st.n.AdjustClusterSize(5))
	st.expect(tip(term, 3), clusterSize(5))
	require_Equal(t, logCount(logs, line("Could not send peer state: %v", diskErr)), 1)
	require_Equal(t, logPrefixCount(logs, noPeerState), 1)

	st.ack(ackFrom(hostS2, term, 1, true))
	require_Equal(t, st.p.PendingProposals(), 1)
	require_Equal(t, logCount(logs, line("Error tracking peer %q: %v", hostS2, diskErr)), 1)
	require_Equal(t, logPrefixCount(logs, noTrack), 1)
	// A peer it knows needs no proposal, so no failure either.
	st.ack(ackFrom(nats0, term, 1, true))
	require_Equal(t, logPrefixCount(logs, noTrack), 1)
	require_Equal(t, logPrefixCount(logs, notSent), 2)
}

// TestE2ERestartKeepsTermAndVote: a node restarted on its store comes back
// in the term it had persisted and with the vote it cast in it, so that it
// cannot vote twice in one term.
func TestE2ERestartKeepsTermAndVote(t *testing.T) {
	c, s, _ := apiLogHost(t, func(*raftport.ServerConfig) {})
	st := c.stepNodeOn(s, nodeSetup{group: "TV", peers: []string{s.ID(), nats0, nats1}})
	st.expect(inTerm(0), votedFor(""))
	require_True(t, st.vote(askVote(nats0, 7, 0, 0), inTerm(7), votedFor(nats0)).Granted)

	st.restart()
	st.expect(inState(raftport.Follower), inTerm(7), votedFor(nats0))
	// Another candidate of the same term is refused; one of a later term
	// is not, and that vote survives a restart too.
	require_False(t, st.vote(askVote(nats1, 7, 0, 0), inTerm(7), votedFor(nats0)).Granted)
	require_True(t, st.vote(askVote(nats1, 9, 0, 0), inTerm(9), votedFor(nats1)).Granted)
	st.restart()
	st.expect(inState(raftport.Follower), inTerm(9), votedFor(nats1))
}

// TestE2EVoteRepliesByRole: a vote reply that reaches a follower is
// discarded, one that reaches a candidate is queued and counted towards
// its election, and an undecodable one is reported as an error and
// changes nothing, in either role.
func TestE2EVoteRepliesByRole(t *testing.T) {
	c, s, logs := apiLogHost(t, func(cfg *raftport.ServerConfig) {
		cfg.Debug, cfg.Timing = true, slowElectionTiming(time.Second)
	})
	st := c.stepNodeOn(s, nodeSetup{group: "VR", peers: []string{s.ID(), nats0, nats1}})
	conn := c.client()
	publish := func(data []byte) {
		t.Helper()
		require_NoError(t, conn.Publish(st.p.Subjects().VoteReply, "", data))
		require_NoError(t, c.net.WaitIdle(5*time.Second))
	}
	discarded := nodeLine(s, "VR", "Vote reply arrived after candidacy ended, discarding")
	queued := nodeLine(s, "VR", "Vote reply in: ")
	undecodable := nodeLine(s, "VR", "Undecodable vote reply in group %q", "VR")
	granted := codec.EncodeVoteResponse(voteAnswer{Term: 1, Peer: nats0, Granted: true})

	publish(granted)
	require_Equal(t, logCount(logs, discarded), 1)
	require_Equal(t, logPrefixCount(logs, queued), 0)
	require_Equal(t, logCount(logs, undecodable), 0)
	publish([]byte("junk"))
	require_Equal(t, logCount(logs, undecodable), 1)
	require_Equal(t, logCount(logs, discarded), 1)
	require_Equal(t, logPrefixCount(logs, queued), 0)
	st.expect(inState(raftport.Follower), inTerm(0), votedFor(""))

	// A candidate queues what it can decode for its campaign, which
	// counts it: with ours, a quorum of three.
	st.p.SwitchToCandidate()
	st.expect(inState(raftport.Candidate), inTerm(1))
	done := make(chan struct{})
	go func() { defer close(done); st.p.RunAsCandidate() }()
	eventually(t, holds("the candidate voted for itself", func() bool { return st.p.Replication().Vote == s.ID() }))
	publish([]byte("junk"))
	require_Equal(t, logCount(logs, undecodable), 2)
	require_Equal(t, logPrefixCount(logs, queued), 0)
	st.expect(inState(raftport.Candidate), inTerm(1))
	publish(granted)
	require_ChanRead(t, done, settleWait)
	st.expect(inState(raftport.Leader), inTerm(1))
	require_Equal(t, logPrefixCount(logs, queued), 1)
	require_Equal(t, logCount(logs, discarded), 1)
	require_Equal(t, logCount(logs, undecodable), 2)
}

// hookLog is a logCapture that runs do, once, when msg is logged: the
// test acts at the exact point of a node's run where it logs msg.
type hookLog struct {
	logCapture
	msg  string
	do   func()
	once sync.Once
}

func (h *hookLog) Handle(ctx context.Context, r slog.Record) error {
	err := h.logCapture.Handle(ctx, r)
	if strings.HasSuffix(r.Message, h.msg) {
		h.once.Do(h.do)
	}
	return err
}
func (h *hookLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *hookLog) WithGroup(string) slog.Handler      { return h }

// TestE2ECatchupEndsWhileStayingPut: a follower whose election timer
// fires during a catchup stays put; when the catchup ends before the
// follower looks at its progress (here, right as it logs that it stays
// put), there is no stalled catchup to cancel: it rearms its timer, and
// on the next timeout, no longer catching up, it campaigns.
func TestE2ECatchupEndsWhileStayingPut(t *testing.T) {
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 5*time.Millisecond, 10*time.Millisecond
	c := createRaftClusterWithTiming(t, "R1S", 0, tm)
	var st *stepped
	logs := &hookLog{msg: "Staying put instead of campaigning: catchup is in progress"}
	logs.do = func() { st.p.CancelCatchup() }
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) {
		cfg.Logger, cfg.Debug = slog.New(logs), true
	})
	st = c.stepNodeOn(s, nodeSetup{group: "STALL", peers: []string{s.ID(), nats0, nats1}})
	st.live(aeFrom(nats0, 1).after(1, 3).committing(3), catchupFrom(0, 0), inTerm(1))

	st.p.StartRun()
	stayed := nodeLine(s, "STALL", "%s", logs.msg)
	// Its first campaign is of the term after the leader's; it may have
	// started more since, on its millisecond timers.
	campaign := nodeLine(s, "STALL", "Now a candidate in term 2")
	eventually(t, holds("the follower campaigns", func() bool { return logCount(&logs.logCapture, campaign) == 1 }))
	st.expect(notCatchingUp())
	require_Equal(t, logCount(&logs.logCapture, stayed), 1)
	// It stayed put first, and campaigned only after.
	order := slices.DeleteFunc(logs.messages(), func(m string) bool { return m != stayed && m != campaign })
	require_Equal(t, strings.Join(order, " | "), stayed+" | "+campaign)
}
