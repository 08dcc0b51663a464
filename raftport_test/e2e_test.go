package raftport_test

// End-to-end tests of whole groups: election, replication of many entries
// with every member agreeing on their order, leader loss, catchup from the
// log and from a snapshot, membership changes, and the same over a real
// NATS server.

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// e2eWait bounds every wait of these tests: generous for -race on two
// cores, and never reached when the group works.
const e2eWait = 30 * time.Second

// chainSM is a state machine that proves agreement on order: it folds
// every applied entry into a SHA-256 chain, so two members with the same
// count and head applied the same entries in the same order. Entries carry
// a sequence number and a repeated one is skipped, so that a client may
// propose again what a leader change lost, as real clients do.
type chainSM struct {
	smMember

	count uint64
	head  [sha256.Size]byte
	seen  map[uint64]bool // sequence numbers applied
	snaps int             // snapshot entries applied since the last (re)start
	led   bool            // what the last lead change said
}

func newChainSM(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) *chainSM {
	return &chainSM{smMember: smMember{c: c, s: s, n: n, cfg: cfg}, seen: make(map[uint64]bool)}
}

func (m *chainSM) applyEntry(ce *raftport.CommittedEntry) {
	if ce == nil {
		return
	}
	m.Lock()
	for _, e := range ce.Entries {
		switch e.Type {
		case raftport.EntryNormal:
			if len(e.Data) != 8 || m.seen[binary.BigEndian.Uint64(e.Data)] {
				continue
			}
			m.seen[binary.BigEndian.Uint64(e.Data)] = true
			m.head = sha256.Sum256(append(m.head[:], e.Data...))
			m.count++
		case raftport.EntrySnapshot:
			m.restore(e.Data)
		}
	}
	n := m.n
	m.Unlock()
	n.Applied(ce.Index)
}

func (m *chainSM) leaderChange(isLeader bool) {
	m.Lock()
	defer m.Unlock()
	m.led = isLeader
}

// toldLeading reports whether the node last told its state machine that it
// leads.
func (m *chainSM) toldLeading() bool {
	m.Lock()
	defer m.Unlock()
	return m.led
}

// restart starts the member again from its file WAL, with its state
// rebuilt from the replay.
func (m *chainSM) restart() {
	m.restartAs(m, func() {
		m.count, m.head, m.seen, m.snaps = 0, [sha256.Size]byte{}, make(map[uint64]bool), 0
	})
}

// state is the member's count and chain head.
func (m *chainSM) state() (uint64, [sha256.Size]byte) {
	m.Lock()
	defer m.Unlock()
	return m.count, m.head
}

func (m *chainSM) snapshotsApplied() int {
	m.Lock()
	defer m.Unlock()
	return m.snaps
}

// has reports whether the member applied sequence number seq.
func (m *chainSM) has(seq uint64) bool {
	m.Lock()
	defer m.Unlock()
	return m.seen[seq]
}

// snapshot installs the member's state (count, head, then every sequence
// number applied) as its node's snapshot. It is only taken when the group
// is quiet, so the state is exactly what was applied.
func (m *chainSM) snapshot() error {
	m.Lock()
	data := binary.BigEndian.AppendUint64(nil, m.count)
	data = append(data, m.head[:]...)
	for seq := range m.seen {
		data = binary.BigEndian.AppendUint64(data, seq)
	}
	n := m.n
	m.Unlock()
	return n.InstallSnapshot(data, false)
}

// restore loads what snapshot stored; a malformed snapshot is a failure
// of the node, which must never hand one over. Lock held.
func (m *chainSM) restore(data []byte) {
	if len(data) < 8+sha256.Size || (len(data)-8-sha256.Size)%8 != 0 {
		m.c.t.Errorf("%s: malformed snapshot of %d bytes", m.s.Name(), len(data))
		return
	}
	m.count = binary.BigEndian.Uint64(data)
	copy(m.head[:], data[8:])
	m.seen = make(map[uint64]bool)
	for rest := data[8+sha256.Size:]; len(rest) > 0; rest = rest[8:] {
		m.seen[binary.BigEndian.Uint64(rest)] = true
	}
	m.snaps++
}

// proposeN proposes the entries numbered first to first+count-1 through
// the leader until the leader applied every one: a leader that steps down
// drops the proposals it had not replicated, and a client then proposes
// them again to the next one.
func proposeN(t *testing.T, rg group[*chainSM], first, count int) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		lsm := rg.waitOnLeader()
		require_NotNil(t, lsm)
		var missing []uint64
		for seq := uint64(first); seq < uint64(first+count); seq++ {
			if !lsm.has(seq) {
				missing = append(missing, seq)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d proposals never applied within %v", len(missing), count, e2eWait)
		}
		n := lsm.node()
		for _, seq := range missing {
			if err := n.Propose(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				break
			}
		}
		// Give the leader time to apply them before looking again.
		last := missing[len(missing)-1]
		waitUntil := time.Now().Add(5 * time.Second)
		for !lsm.has(last) && n.Leader() && time.Now().Before(waitUntil) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// waitAgree waits until every given member applied want entries, all with
// the same chain head, and returns that head.
func waitAgree(t *testing.T, members group[*chainSM], want uint64) [sha256.Size]byte {
	t.Helper()
	var head [sha256.Size]byte
	checkFor(t, e2eWait, 10*time.Millisecond, func() error {
		var errs error
		first := true
		for _, m := range members {
			count, h := m.state()
			if count != want {
				errs = errors.Join(errs, fmt.Errorf("%s applied %d of %d entries", m.server().Name(), count, want))
				continue
			}
			if first {
				head, first = h, false
			} else if h != head {
				return fmt.Errorf("%s applied the same count with a different order", m.server().Name())
			}
		}
		return errs
	})
	return head
}

// e2eReplicate checks that a group elects a leader and that every member
// applies count entries in the same order; it returns how many entries the
// group holds.
func e2eReplicate(t *testing.T, rg group[*chainSM], count int) int {
	t.Helper()
	require_NotNil(t, rg.waitOnLeader())
	proposeN(t, rg, 0, count)
	waitAgree(t, rg, uint64(count))
	return count
}

// e2eLeaderLoss stops the leader, checks that the others elect a new one
// in a later term and keep committing, and that the old leader catches up
// once restarted.
func e2eLeaderLoss(t *testing.T, rg group[*chainSM], total int) int {
	t.Helper()
	old := rg.waitOnLeader()
	require_NotNil(t, old)
	oldTerm := old.node().Term()
	old.stop()

	var next *chainSM
	checkFor(t, e2eWait, 10*time.Millisecond, func() error {
		if next = rg.leader(); next == nil {
			return errors.New("no new leader yet")
		}
		return nil
	})
	require_NotEqual(t, next, old)
	require_True(t, next.node().Term() > oldTerm)
	// The new leader's state machine hears about it on the lead-change
	// channel.
	checkFor(t, e2eWait, 10*time.Millisecond, func() error {
		if !next.toldLeading() && next.node().Leader() {
			return errors.New("new leader's state machine not told it leads")
		}
		return nil
	})

	proposeN(t, rg, total, 100)
	total += 100
	waitAgree(t, rg.except(old), uint64(total))

	old.restart()
	waitAgree(t, rg, uint64(total))
	return total
}

// e2eCatchups stops one follower, lets the group move on and restarts it,
// so it catches up from the leader's log; then stops another, has every
// running member snapshot (compacting the log past what it lacks) and
// restarts it, so it can only catch up from a snapshot.
func e2eCatchups(t *testing.T, rg group[*chainSM], total int) int {
	t.Helper()
	followers := rg.followers()
	require_True(t, len(followers) >= 2)
	fromLog, fromSnap := followers[0], followers[1]

	fromLog.stop()
	proposeN(t, rg, total, 200)
	total += 200
	waitAgree(t, rg.except(fromLog), uint64(total))
	fromLog.restart()
	waitAgree(t, rg, uint64(total))
	require_Equal(t, fromLog.snapshotsApplied(), 0)

	fromSnap.stop()
	proposeN(t, rg, total, 200)
	total += 200
	running := rg.except(fromSnap)
	waitAgree(t, running, uint64(total))
	for _, m := range running {
		// A member still streaming a catchup refuses to compact; it is
		// done soon, the group being quiet.
		checkFor(t, e2eWait, 10*time.Millisecond, m.snapshot)
	}
	proposeN(t, rg, total, 200)
	total += 200
	waitAgree(t, running, uint64(total))

	fromSnap.restart()
	waitAgree(t, rg, uint64(total))
	require_True(t, fromSnap.snapshotsApplied() > 0)
	return total
}

// e2eMembership adds a member on a new host, checks that the leader counts
// it and that it catches up, then removes it and checks that the group
// shrinks back and keeps committing.
func e2eMembership(t *testing.T, c *cluster, rg group[*chainSM], name string, total int) int {
	t.Helper()
	size := len(rg)
	added := joinGroup(c, name, fileStorage, newChainSM)
	checkFor(t, e2eWait, 10*time.Millisecond, func() error {
		l := rg.leader()
		if l == nil {
			return errors.New("no leader")
		}
		if got := l.node().ClusterSize(); got != size+1 {
			return fmt.Errorf("cluster size %d, want %d", got, size+1)
		}
		return nil
	})
	proposeN(t, rg, total, 100)
	total += 100
	waitAgree(t, append(slices.Clone(rg), added), uint64(total))

	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	require_NoError(t, leader.node().ProposeRemovePeer(added.node().ID()))
	checkFor(t, e2eWait, 10*time.Millisecond, func() error {
		for _, sm := range rg {
			if got := sm.node().ClusterSize(); got != size {
				return fmt.Errorf("%s: cluster size %d, want %d", sm.server().Name(), got, size)
			}
			for _, p := range sm.node().Peers() {
				if p.ID == added.node().ID() {
					return fmt.Errorf("%s still lists the removed peer", sm.server().Name())
				}
			}
		}
		return nil
	})
	proposeN(t, rg, total, 100)
	total += 100
	waitAgree(t, rg, uint64(total))
	return total
}

// TestE2EReplicateAndAgree: 3- and 5-member groups elect a leader,
// replicate 10,000 entries, and every member applies them in one order.
func TestE2EReplicateAndAgree(t *testing.T) {
	for _, members := range []int{3, 5} {
		t.Run(fmt.Sprintf("R%d", members), func(t *testing.T) {
			c := createRaftCluster(t, fmt.Sprintf("R%dS", members), members)
			rg := placeGroup(c, "E2E", members, fileStorage, newChainSM)
			e2eReplicate(t, rg, 10_000)
		})
	}
}

// TestE2ELeaderLossAndReelection: losing the leader elects another in a
// later term, the group keeps committing, and the old leader rejoins.
func TestE2ELeaderLossAndReelection(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	rg := placeGroup(c, "E2E", 3, fileStorage, newChainSM)
	total := e2eReplicate(t, rg, 500)
	e2eLeaderLoss(t, rg, total)
}

// TestE2ECatchupFromLogAndSnapshot: in a 5-member group one follower
// catches up from the leader's log and another from a snapshot.
func TestE2ECatchupFromLogAndSnapshot(t *testing.T) {
	c := createRaftCluster(t, "R5S", 5)
	rg := placeGroup(c, "E2E", 5, fileStorage, newChainSM)
	total := e2eReplicate(t, rg, 500)
	e2eCatchups(t, rg, total)
}

// TestE2EAddAndRemovePeer: a member on a new host joins and catches up,
// then is removed, and the group goes on without it.
func TestE2EAddAndRemovePeer(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	rg := placeGroup(c, "E2E", 3, fileStorage, newChainSM)
	total := e2eReplicate(t, rg, 500)
	e2eMembership(t, c, rg, "E2E", total)
}

// TestE2ENATSTransport runs the whole scenario once over a real NATS
// server embedded in the test, on a random loopback port.
func TestE2ENATSTransport(t *testing.T) {
	c := createNATSRaftCluster(t, "NATS", 3)
	rg := placeGroup(c, "E2E", 3, fileStorage, newChainSM)
	total := e2eReplicate(t, rg, 10_000)
	total = e2eLeaderLoss(t, rg, total)
	total = e2eCatchups(t, rg, total)
	e2eMembership(t, c, rg, "E2E", total)
}

// createNATSRaftCluster is createRaftCluster over an embedded NATS server:
// every host dials it with its own connection, without echo, as NATS
// servers' internal Raft clients behave.
func createNATSRaftCluster(t *testing.T, clusterName string, numServers int) *cluster {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	require_NoError(t, err)
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatalf("embedded NATS server not ready")
	}
	url := ns.ClientURL()
	dial := func(id string) (transport.Conn, error) {
		return transport.DialNATS(url, transport.WithNoEcho(), transport.WithName(id))
	}
	c := newCluster(t, clusterName, fastTiming(), dial, func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	for range numServers {
		c.addInNewServer()
	}
	return c
}
