package raftport_test

// A node stepped by hand. Many reference tests initialise a node without
// its run loop, play the rest of the group themselves (a leader's append
// entries, a candidate's vote request, a follower's response) and look at
// the node after each message. Here that is a stepped node: messages are
// written as drafts (aeFrom(...).after(...).withEntry()), delivered with
// live or catchup, and each delivery names the checks that must hold
// after it (tip(1, 1), committed(1), catchingUp(), ...).

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// nodeSetup says how a stepped node is made. The zero value is the
// reference's initSingleMemRaftNode: group TEST alone on the first host of
// the cluster, with a memory WAL.
type nodeSetup struct {
	group string // "TEST" when empty
	// onDisk gives the node a file WAL, which a restart reopens.
	onDisk bool
	// peers are the members it is bootstrapped with; the host alone when
	// nil. bareBootstrap bootstraps with no peers and without accepting
	// known ones, as the reference's file-store setups do.
	peers         []string
	bareBootstrap bool
	// wrapLog, when set, wraps the WAL every time the node opens it.
	wrapLog func(storage.WAL) storage.WAL
	// track holds the node to the host's storage budget.
	track bool
}

// stepped is a node whose run loop does not run; the test drives it.
type stepped struct {
	t      *testing.T
	c      *cluster
	s      *raftport.Server
	n      raftport.RaftNode
	p      probe
	cfg    *raftport.RaftConfig
	walDir string // "" for a memory WAL
	setup  nodeSetup
}

// stepNode is a stepped node on the first host of a fresh 3-host cluster.
func stepNode(t *testing.T) *stepped {
	t.Helper()
	return createRaftCluster(t, "R3S", 3).stepNode(nodeSetup{})
}

// stepNode bootstraps and initialises a stepped node on the cluster's
// first host.
func (c *cluster) stepNode(setup nodeSetup) *stepped {
	c.t.Helper()
	return c.stepNodeOn(c.servers[0], setup)
}

// stepNodeOn is stepNode on a given host of the cluster.
func (c *cluster) stepNodeOn(host *raftport.Server, setup nodeSetup) *stepped {
	c.t.Helper()
	st := &stepped{t: c.t, c: c, s: host, setup: setup}
	if setup.onDisk {
		st.walDir = c.tempDir()
	}
	st.cfg = &raftport.RaftConfig{Name: cmp.Or(setup.group, "TEST"), Store: c.tempDir(), Track: setup.track}
	st.cfg.Log = st.openLog()
	peers, allowKnown := setup.peers, !setup.bareBootstrap
	if peers == nil && allowKnown {
		peers = []string{host.ID()}
	}
	require_NoError(c.t, host.BootstrapRaftNode(st.cfg, peers, allowKnown))
	require_NoError(c.t, st.start())
	if peers != nil {
		st.expect(bootstrappedWith(peers))
	}
	return st
}

// bootstrappedWith checks that the node took the peer set it was
// bootstrapped with: those members exactly, their count as the cluster
// size and a majority of them as its quorum.
func bootstrappedWith(peers []string) check {
	return func(st *stepped) {
		st.t.Helper()
		want, known := slices.Sorted(slices.Values(peers)), st.p.KnownPeers()
		slices.Sort(known)
		r := st.state()
		if !slices.Equal(known, want) || r.ClusterSize != len(want) || r.Quorum != len(want)/2+1 {
			st.t.Fatalf("node started with peers %v, cluster size %d and quorum %d; bootstrapped with %v",
				known, r.ClusterSize, r.Quorum, want)
		}
	}
}

// adoptNode initialises a stepped node on host from cfg, for a test that
// bootstrapped or prepared the node's store itself; restarts give it a
// fresh memory WAL.
func (c *cluster) adoptNode(host *raftport.Server, cfg *raftport.RaftConfig) (*stepped, error) {
	st := &stepped{t: c.t, c: c, s: host, cfg: cfg}
	return st, st.start()
}

// openLog opens the node's WAL: its file WAL again, or a fresh memory
// one, whose content dies with the node.
func (st *stepped) openLog() storage.WAL {
	st.t.Helper()
	var w storage.WAL = storage.NewMemWAL()
	if st.walDir != "" {
		w = openFileWAL(st.t, st.walDir)
	}
	if st.setup.wrapLog != nil {
		w = st.setup.wrapLog(w)
	}
	return w
}

func (st *stepped) start() error {
	n, err := initNode(st.s, st.cfg)
	if err != nil {
		return err
	}
	st.c.trackNode(n)
	st.n, st.p = n, probeOf(n)
	return nil
}

// restart stops the node and initialises it again from its store and
// WAL, as a host restart would; it fails the test if that fails.
func (st *stepped) restart() {
	st.t.Helper()
	require_NoError(st.t, st.tryRestart())
}

// tryRestart is restart for tests about a restart that must fail.
func (st *stepped) tryRestart() error {
	st.t.Helper()
	halt(st.n)
	st.cfg.Log = st.openLog()
	return st.start()
}

// ---- drafts of the messages the test plays ----

// aeDraft is an append entry as a test writes it. Every method returns a
// changed copy, so that one draft can be the base of several.
type aeDraft aeSpec

// aeFrom starts a draft sent by leader in term: empty, after nothing,
// committing nothing.
func aeFrom(leader string, term uint64) aeDraft { return aeDraft{Leader: leader, Term: term} }

// after places the draft's entries after the entry at pindex of pterm.
func (d aeDraft) after(pterm, pindex uint64) aeDraft {
	d.PTerm, d.PIndex = pterm, pindex
	return d
}

func (d aeDraft) committing(index uint64) aeDraft {
	d.Commit = index
	return d
}

func (d aeDraft) carrying(entries ...*raftport.Entry) aeDraft {
	d.Entries = entries
	return d
}

// withEntry makes the draft carry one sample entry.
func (d aeDraft) withEntry() aeDraft { return d.carrying(fooEntry()) }

// inLeaderTerm sets the sender's current term, which a catchup carries
// besides the entries' own term.
func (d aeDraft) inLeaderTerm(lterm uint64) aeDraft {
	d.LTerm = lterm
	return d
}

// answerTo sets where the receiver answers.
func (d aeDraft) answerTo(reply string) aeDraft {
	d.Reply = reply
	return d
}

func (d aeDraft) spec() aeSpec { return aeSpec(d) }

// wire encodes the draft as a leader would send and store it.
func (d aeDraft) wire(t testing.TB) *aeMsg {
	t.Helper()
	msg, err := codec.EncodeAppendEntry(d.spec())
	if err != nil {
		t.Fatalf("encoding %+v: %v", d.spec(), err)
	}
	return msg
}

// askVote is a vote request of candidate in term, whose log ends at
// lastIndex of lastTerm.
func askVote(candidate string, term, lastTerm, lastIndex uint64) voteAsk {
	return voteAsk{Candidate: candidate, Term: term, LastTerm: lastTerm, LastIndex: lastIndex}
}

// ackFrom is peer's response to an append entry of term, up to index.
func ackFrom(peer string, term, index uint64, success bool) ackSpec {
	return ackSpec{Peer: peer, Term: term, Index: index, Success: success}
}

// ---- steps ----

// live delivers d on the node's append-entry subscription, then runs the
// checks.
func (st *stepped) live(d aeDraft, checks ...check) {
	st.t.Helper()
	st.via(st.p.AESub(), d, checks...)
}

// catchup delivers d on the subscription of the catchup under way, then
// runs the checks.
func (st *stepped) catchup(d aeDraft, checks ...check) {
	st.t.Helper()
	sub := st.p.CatchupSub()
	if sub.IsZero() {
		st.t.Fatalf("no catchup subscription to deliver %+v on", d.spec())
	}
	st.via(sub, d, checks...)
}

// via delivers d on sub, then runs the checks.
func (st *stepped) via(sub feed, d aeDraft, checks ...check) {
	st.t.Helper()
	require_NoError(st.t, st.p.ProcessAppendEntry(d.wire(st.t), sub))
	st.expect(checks...)
}

// vote hands the node a vote request, runs the checks and returns its
// answer.
func (st *stepped) vote(req voteAsk, checks ...check) voteAnswer {
	st.t.Helper()
	resp := st.p.ProcessVoteRequest(req)
	st.expect(checks...)
	return resp
}

// ack hands the node, as a leader, a follower's response.
func (st *stepped) ack(r ackSpec, checks ...check) {
	st.t.Helper()
	st.p.ProcessAppendEntryResponse(r)
	st.expect(checks...)
}

// applied tells the node its state machine applied up to index.
func (st *stepped) applied(index uint64, checks ...check) {
	st.t.Helper()
	st.n.Applied(index)
	st.expect(checks...)
}

// snapshot installs an empty snapshot of what was applied.
func (st *stepped) snapshot(checks ...check) {
	st.t.Helper()
	require_NoError(st.t, st.n.InstallSnapshot(nil, false))
	st.expect(checks...)
}

// expect runs checks against the node as it is now.
func (st *stepped) expect(checks ...check) {
	st.t.Helper()
	for _, c := range checks {
		c(st)
	}
}

func (st *stepped) state() replicationState { return st.p.Replication() }

// moveLog sets where the node's log ends and its commit, keeping its
// term, as the reference tests assign pterm, pindex and commit.
func (st *stepped) moveLog(pterm, pindex, commit uint64) {
	st.p.Lock()
	defer st.p.Unlock()
	st.p.SetLogPositionLocked(st.p.ReplicationLocked().Term, pterm, pindex, commit)
}

// ---- checks ----

// check is what must hold of a stepped node after a step.
type check func(st *stepped)

// field checks one value read off the node.
func field[T comparable](what string, read func(*stepped) T, want T) check {
	return func(st *stepped) {
		st.t.Helper()
		if got := read(st); got != want {
			st.t.Fatalf("%s is %v, want %v", what, got, want)
		}
	}
}

// counter checks one of the node's replication counters.
func counter(what string, read func(replicationState) uint64, want uint64) check {
	return field(what, func(st *stepped) uint64 { return read(st.state()) }, want)
}

func lastIndex(want uint64) check {
	return counter("pindex", func(r replicationState) uint64 { return r.PIndex }, want)
}

func lastTerm(want uint64) check {
	return counter("pterm", func(r replicationState) uint64 { return r.PTerm }, want)
}

// tip checks where the node's log ends: pindex, of pterm.
func tip(pterm, pindex uint64) check { return all(lastTerm(pterm), lastIndex(pindex)) }

func committed(want uint64) check {
	return counter("commit", func(r replicationState) uint64 { return r.Commit }, want)
}

func appliedAt(want uint64) check {
	return counter("applied", func(r replicationState) uint64 { return r.Applied }, want)
}

func processedAt(want uint64) check {
	return counter("processed", func(r replicationState) uint64 { return r.Processed }, want)
}

func snapshotAt(want uint64) check {
	return counter("papplied", func(r replicationState) uint64 { return r.PApplied }, want)
}

func inTerm(want uint64) check {
	return counter("term", func(r replicationState) uint64 { return r.Term }, want)
}

func votedFor(want string) check {
	return field("vote", func(st *stepped) string { return st.state().Vote }, want)
}

func inState(want raftport.RaftState) check {
	return field("state", func(st *stepped) raftport.RaftState { return st.n.State() }, want)
}

func healthy(want bool) check {
	return field("healthy", func(st *stepped) bool { return st.n.Healthy() }, want)
}

func clusterSize(want int) check {
	return field("cluster size", func(st *stepped) int { return st.n.ClusterSize() }, want)
}

func hasQuorum(want bool) check {
	return field("quorum", func(st *stepped) bool { return st.n.Quorum() }, want)
}

// logHolds checks how many entries the WAL holds.
func logHolds(want uint64) check {
	return field("entries in the WAL", func(st *stepped) uint64 { return st.p.WALState().Entries }, want)
}

// logSpans checks the WAL's first and last index.
func logSpans(first, last uint64) check {
	return all(
		field("first WAL index", func(st *stepped) uint64 { return st.p.WALState().FirstIndex }, first),
		field("last WAL index", func(st *stepped) uint64 { return st.p.WALState().LastIndex }, last))
}

// writtenBy checks which leader the entry stored at index came from.
func writtenBy(index uint64, leader string) check {
	return field(fmt.Sprintf("leader of entry %d", index), func(st *stepped) string {
		st.t.Helper()
		spec, err := st.p.LoadEntry(index)
		require_NoError(st.t, err)
		return spec.Leader
	}, leader)
}

func catchingUp() check { return field("catching up", isCatchingUp, true) }

func notCatchingUp() check { return field("catching up", isCatchingUp, false) }

func isCatchingUp(st *stepped) bool {
	_, ok := st.p.Catchup()
	return ok
}

// catchupFrom checks that a catchup runs and where it started (or last
// progressed): after pindex of pterm.
func catchupFrom(pterm, pindex uint64) check {
	return all(catchingUp(),
		field("catchup start term", func(st *stepped) uint64 { return st.catchupView().PTerm }, pterm),
		field("catchup start index", func(st *stepped) uint64 { return st.catchupView().PIndex }, pindex))
}

// catchupUpTo checks that a catchup runs and where it ends: at cindex of
// cterm.
func catchupUpTo(cterm, cindex uint64) check {
	return all(catchingUp(),
		field("catchup end term", func(st *stepped) uint64 { return st.catchupView().CTerm }, cterm),
		field("catchup end index", func(st *stepped) uint64 { return st.catchupView().CIndex }, cindex))
}

func (st *stepped) catchupView() catchupView {
	cv, _ := st.p.Catchup()
	return cv
}

// all is the checks as one.
func all(checks ...check) check {
	return func(st *stepped) {
		st.t.Helper()
		st.expect(checks...)
	}
}

// ---- what the node answers ----

// replies watches the subject where the node answers append entries.
type replies struct {
	st *stepped
	ch chan *message
}

// repliesOn subscribes a test client to subject.
func (st *stepped) repliesOn(subject string) *replies {
	st.t.Helper()
	return &replies{st: st, ch: st.c.watch(subject, 16)}
}

// none checks that no answer was sent: once the network is idle, whatever
// was published has been delivered.
func (r *replies) none() {
	r.st.t.Helper()
	require_NoError(r.st.t, r.st.c.net.WaitIdle(5*time.Second))
	select {
	case msg := <-r.ch:
		r.st.t.Fatalf("expected no response, got %d bytes on %s", len(msg.Data), msg.Subject)
	default:
	}
}

// next returns the answer that was sent, with the message it came in.
func (r *replies) next() (ackSpec, *message) {
	r.st.t.Helper()
	require_NoError(r.st.t, r.st.c.net.WaitIdle(5*time.Second))
	msg := require_ChanRead(r.st.t, r.ch, time.Second)
	ar, err := codec.DecodeAppendEntryResponse(msg.Data, msg.Reply)
	require_NoError(r.st.t, err)
	return ar, msg
}

// onCatchupInbox checks that an answer asks for a catchup on an inbox of
// its own.
func onCatchupInbox(t testing.TB, msg *message) {
	t.Helper()
	if !strings.HasPrefix(msg.Reply, "$NRG.CR.") {
		t.Fatalf("reply subject %q is no catchup inbox", msg.Reply)
	}
}

// snapshotFiles lists the node's snapshots directory.
func (st *stepped) snapshotFiles() []os.DirEntry {
	st.t.Helper()
	files, err := os.ReadDir(st.p.SnapshotsDir())
	require_NoError(st.t, err)
	return files
}

// snapshotsOnDisk checks how many files the snapshots directory holds.
func snapshotsOnDisk(want int) check {
	return field("snapshot files", func(st *stepped) int { return len(st.snapshotFiles()) }, want)
}
