package raftport_test

// The reference's Raft Chain of Blocks (RCOB) state machine and the two
// tests that use it. Every block is random bytes; each replica folds the
// blocks it applies into a running CRC-32, so replicas that applied the
// same blocks in the same order hold the same hash, and any divergence
// shows in every hash after it.

import (
	"encoding"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// rcobMaxBlockSize bounds a block's random data.
const rcobMaxBlockSize = 10240

// rcobBlock is what is proposed. Proposer and sequence help debugging; only
// Data is hashed.
type rcobBlock struct {
	Proposer         string
	ProposerSequence uint64
	Data             []byte
}

// rcobSnapshot is the state: the hash's internal state after BlocksCount
// blocks.
type rcobSnapshot struct {
	SourceNode  string
	HashData    []byte
	BlocksCount uint64
}

type rcobStateMachine struct {
	sync.Mutex
	c                          *cluster
	s                          *raftport.Server
	n                          raftport.RaftNode
	cfg                        *raftport.RaftConfig
	walDir                     string
	wg                         sync.WaitGroup
	proposalSequence           uint64
	rng                        *rand.Rand
	hash                       hash.Hash32
	blocksApplied              uint64
	blocksAppliedSinceSnapshot uint64
	stopped                    bool
	leader                     bool  // what the last lead change said, for failure messages
	ready                      bool  // the replay of a (re)start is over
	err                        error // the first apply failure, reported by getCurrentHash
}

// newRaftChainStateMachine seeds each replica's block generator from its
// host and node, as the reference does.
func newRaftChainStateMachine(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) stateMachine {
	var seed uint64
	for _, b := range []byte(s.Name() + n.ID()) {
		seed += uint64(b)
	}
	return &rcobStateMachine{
		c: c, s: s, n: n, cfg: cfg,
		rng:  rand.New(rand.NewPCG(seed, seed)),
		hash: crc32.NewIEEE(),
	}
}

func (sm *rcobStateMachine) server() *raftport.Server {
	sm.Lock()
	defer sm.Unlock()
	return sm.s
}

func (sm *rcobStateMachine) node() raftport.RaftNode {
	sm.Lock()
	defer sm.Unlock()
	return sm.n
}

func (sm *rcobStateMachine) waitGroup() *sync.WaitGroup { return &sm.wg }

func (sm *rcobStateMachine) setWALDir(dir string) {
	sm.Lock()
	defer sm.Unlock()
	sm.walDir = dir
}

// propose may fail (no leader known yet); the tests then see a block
// missing.
func (sm *rcobStateMachine) propose(data []byte) {
	sm.Lock()
	defer sm.Unlock()
	_ = sm.n.ForwardProposal(data)
}

func (sm *rcobStateMachine) applyEntry(ce *raftport.CommittedEntry) {
	sm.Lock()
	defer sm.Unlock()
	if ce == nil {
		sm.ready = true
		return
	}
	for _, e := range ce.Entries {
		switch e.Type {
		case raftport.EntryNormal:
			sm.applyBlock(e.Data)
		case raftport.EntrySnapshot:
			sm.loadSnapshot(e.Data)
		case raftport.EntryCatchup:
		default:
			sm.fail(fmt.Errorf("unexpected entry type %s", e.Type))
		}
	}
	sm.n.Applied(ce.Index)
}

func (sm *rcobStateMachine) leaderChange(isLeader bool) {
	sm.Lock()
	defer sm.Unlock()
	sm.leader = isLeader
}

// fail keeps the first failure. Lock held.
func (sm *rcobStateMachine) fail(err error) {
	if sm.err == nil {
		sm.err = fmt.Errorf("%s: %w", sm.s.Name(), err)
	}
}

// stop stops the node and forgets the state, which the restart recovers
// from the snapshot, the log or the peers.
func (sm *rcobStateMachine) stop() {
	n := sm.node()
	n.Stop()
	n.WaitForStop()
	sm.wg.Wait()

	sm.Lock()
	defer sm.Unlock()
	sm.stopped = true
	sm.leader = false
	sm.blocksApplied = 0
	sm.hash.Reset()
}

func (sm *rcobStateMachine) restart() {
	sm.Lock()
	defer sm.Unlock()
	sm.stopped = false
	sm.ready = false
	if sm.n.State() != raftport.Closed {
		return
	}
	sm.cfg.Log = openFileWAL(sm.c.t, sm.walDir)
	n, err := sm.s.StartRaftNode(globalAccountName, sm.cfg)
	if err != nil {
		sm.fail(fmt.Errorf("restart: %w", err))
		return
	}
	sm.n = n
	sm.c.startLoop(sm)
}

func (sm *rcobStateMachine) proposeBlock() {
	sm.Lock()
	sm.proposalSequence++
	block := rcobBlock{
		Proposer:         sm.s.Name(),
		ProposerSequence: sm.proposalSequence,
		Data:             make([]byte, 1+sm.rng.IntN(rcobMaxBlockSize)),
	}
	for i := range block.Data {
		block.Data[i] = byte(sm.rng.Uint32())
	}
	sm.Unlock()
	data, err := json.Marshal(block)
	if err != nil {
		sm.Lock()
		sm.fail(err)
		sm.Unlock()
		return
	}
	sm.propose(data)
}

// applyBlock folds a block into the hash. Lock held.
func (sm *rcobStateMachine) applyBlock(data []byte) {
	var block rcobBlock
	if err := json.Unmarshal(data, &block); err != nil {
		sm.fail(fmt.Errorf("block: %w", err))
		return
	}
	sm.hash.Write(block.Data)
	sm.blocksApplied++
	sm.blocksAppliedSinceSnapshot++
}

func (sm *rcobStateMachine) isLeader() bool {
	sm.Lock()
	defer sm.Unlock()
	return sm.leader
}

// getCurrentHash returns whether the replica runs, how many blocks it
// applied and its hash, or its first failure.
func (sm *rcobStateMachine) getCurrentHash() (bool, uint64, string, error) {
	sm.Lock()
	defer sm.Unlock()
	return !sm.stopped, sm.blocksApplied, fmt.Sprintf("%X", sm.hash.Sum(nil)), sm.err
}

// createSnapshot snapshots the hash state, unless nothing was applied
// since the last snapshot or the replica is still replaying.
func (sm *rcobStateMachine) createSnapshot() {
	sm.Lock()
	defer sm.Unlock()
	if sm.blocksAppliedSinceSnapshot == 0 || !sm.ready {
		return
	}
	state, err := sm.hash.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		sm.fail(err)
		return
	}
	data, err := json.Marshal(rcobSnapshot{
		SourceNode:  fmt.Sprintf("%s (%s)", sm.s.Name(), sm.n.ID()),
		HashData:    state,
		BlocksCount: sm.blocksApplied,
	})
	if err != nil {
		sm.fail(err)
		return
	}
	// Refusals (a catchup running, say) are fine: the next try snapshots.
	if err := sm.n.InstallSnapshot(data, false); err != nil {
		return
	}
	sm.blocksAppliedSinceSnapshot = 0
}

// loadSnapshot restores the hash state. Lock held.
func (sm *rcobStateMachine) loadSnapshot(data []byte) {
	var snap rcobSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		sm.fail(fmt.Errorf("snapshot: %w", err))
		return
	}
	if err := sm.hash.(encoding.BinaryUnmarshaler).UnmarshalBinary(snap.HashData); err != nil {
		sm.fail(fmt.Errorf("snapshot hash: %w", err))
		return
	}
	sm.blocksApplied = snap.BlocksCount
	sm.blocksAppliedSinceSnapshot = 0
}

// rcobConverged checks that every replica runs, applied want blocks and
// holds the same non-empty hash.
func rcobConverged(rg smGroup, want uint64) error {
	var prevName, prevHash string
	for _, sm := range rg {
		rs := sm.(*rcobStateMachine)
		name := fmt.Sprintf("%s/%s", rs.server().Name(), rs.node().ID())
		if rs.isLeader() {
			name += " (leader)"
		}
		running, blocks, hash, err := rs.getCurrentHash()
		switch {
		case err != nil:
			return err
		case !running:
			return fmt.Errorf("node %s is not running", name)
		case blocks != want:
			return fmt.Errorf("node %s applied %d blocks out of %d expected", name, blocks, want)
		case hash == "":
			return fmt.Errorf("node %s has empty hash after applying %d blocks", name, blocks)
		case prevHash != "" && prevHash != hash:
			return fmt.Errorf("hash mismatch after %d blocks: %s hash: %s != %s hash: %s", want, name, hash, prevName, prevHash)
		}
		prevName, prevHash = name, hash
	}
	return nil
}

// TestNRGChainOfBlocksRunInLockstep ports test 2698: blocks proposed one
// at a time through random members are applied by every replica with the
// same running hash.
func TestNRGChainOfBlocksRunInLockstep(t *testing.T) {
	const iterations = 50
	const applyTimeout = 3 * time.Second
	const testTimeout = iterations * time.Second

	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newRaftChainStateMachine)
	rg.waitOnLeader()

	deadline := time.Now().Add(testTimeout)
	for iteration := uint64(1); iteration <= iterations; iteration++ {
		if time.Now().After(deadline) {
			t.Fatalf("Timeout, completed %d/%d iterations", iteration-1, iterations)
		}
		rg.randomMember().(*rcobStateMachine).proposeBlock()
		checkFor(t, applyTimeout, 10*time.Millisecond, func() error {
			return rcobConverged(rg, iteration)
		})
	}
}

// TestNRGChainOfBlocksStopAndCatchUp ports test 2699: each round stops a
// random replica, snapshots another, proposes blocks through the running
// ones and restarts the stopped one, which must catch up to the same hash.
func TestNRGChainOfBlocksStopAndCatchUp(t *testing.T) {
	const iterations = 50
	const blocksPerIteration = 3
	const applyTimeout = 3 * time.Second
	const testTimeout = 2 * iterations * time.Second

	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newRaftChainStateMachine)
	rg.waitOnLeader()

	deadline := time.Now().Add(testTimeout)
	for iteration := uint64(1); iteration <= iterations; iteration++ {
		if time.Now().After(deadline) {
			t.Fatalf("Timeout, completed %d/%d iterations", iteration-1, iterations)
		}

		stopped := rg.randomMember()
		stopped.stop()

		snapshotter := rg.randomMember()
		for snapshotter == stopped {
			snapshotter = rg.randomMember()
		}
		snapshotter.(*rcobStateMachine).createSnapshot()

		require_NotNil(t, rg.waitOnLeader())
		for range blocksPerIteration {
			proposer := rg.randomMember()
			for proposer == stopped {
				proposer = rg.randomMember()
			}
			proposer.(*rcobStateMachine).proposeBlock()
		}

		stopped.restart()

		expected := iteration * blocksPerIteration
		checkFor(t, applyTimeout, 10*time.Millisecond, func() error {
			return rcobConverged(rg, expected)
		})
	}
}
