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
	smMember
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
func newRaftChainStateMachine(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) *rcobStateMachine {
	var seed uint64
	for _, b := range []byte(s.Name() + n.ID()) {
		seed += uint64(b)
	}
	return &rcobStateMachine{
		smMember: smMember{c: c, s: s, n: n, cfg: cfg},
		rng:      rand.New(rand.NewPCG(seed, seed)),
		hash:     crc32.NewIEEE(),
	}
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
	sm.smMember.stop()
	sm.Lock()
	defer sm.Unlock()
	sm.stopped, sm.leader, sm.blocksApplied = true, false, 0
	sm.hash.Reset()
}

func (sm *rcobStateMachine) restart() {
	sm.restartAs(sm, func() { sm.stopped, sm.ready = false, false })
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
	data, err := json.Marshal(block)
	if err != nil {
		sm.fail(err)
	}
	sm.Unlock()
	if err == nil {
		sm.propose(data)
	}
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

// replica is what a convergence check reads of one replica.
type replica struct {
	name    string
	running bool
	blocks  uint64
	hash    string
}

// look returns the replica's view, or its first failure.
func (sm *rcobStateMachine) look() (replica, error) {
	sm.Lock()
	defer sm.Unlock()
	name := fmt.Sprintf("%s/%s", sm.s.Name(), sm.n.ID())
	if sm.leader {
		name += " (leader)"
	}
	return replica{name, !sm.stopped, sm.blocksApplied, fmt.Sprintf("%X", sm.hash.Sum(nil))}, sm.err
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
	if err == nil {
		var data []byte
		data, err = json.Marshal(rcobSnapshot{
			SourceNode:  fmt.Sprintf("%s (%s)", sm.s.Name(), sm.n.ID()),
			HashData:    state,
			BlocksCount: sm.blocksApplied,
		})
		// Refusals (a catchup running, say) are fine: the next try
		// snapshots.
		if err == nil && sm.n.InstallSnapshot(data, false) == nil {
			sm.blocksAppliedSinceSnapshot = 0
		}
	}
	if err != nil {
		sm.fail(err)
	}
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

// converged is a wait step: every replica runs, applied want blocks and
// holds the same non-empty hash.
func converged(rg group[*rcobStateMachine], want uint64) func() error {
	return func() error {
		var first replica
		for i, sm := range rg {
			r, err := sm.look()
			switch {
			case err != nil:
				return err
			case !r.running:
				return fmt.Errorf("node %s is not running", r.name)
			case r.blocks != want:
				return fmt.Errorf("node %s applied %d blocks out of %d expected", r.name, r.blocks, want)
			case r.hash == "":
				return fmt.Errorf("node %s has empty hash after applying %d blocks", r.name, r.blocks)
			case i > 0 && r.hash != first.hash:
				return fmt.Errorf("hash mismatch after %d blocks: %s hash: %s != %s hash: %s", want, r.name, r.hash, first.name, first.hash)
			}
			if i == 0 {
				first = r
			}
		}
		return nil
	}
}

// chainRounds runs round for rounds 1 to n on a fresh three-replica chain,
// each followed by a wait of up to 3s for every replica to converge on the
// number of blocks round says the chain now holds; the rounds together
// must finish within budget.
func chainRounds(t *testing.T, n uint64, budget time.Duration, round func(rg group[*rcobStateMachine], i uint64) (blocks uint64)) {
	t.Helper()
	_, rg := startGroup(t, groupSpec{}, newRaftChainStateMachine)
	require_NotNil(t, rg.waitOnLeader())
	deadline := time.Now().Add(budget)
	for i := uint64(1); i <= n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("Timeout, completed %d/%d iterations", i-1, n)
		}
		within(t, 3*time.Second, converged(rg, round(rg, i)))
	}
}

// TestNRGChainOfBlocksRunInLockstep ports test 2698: blocks proposed one
// at a time through random members are applied by every replica with the
// same running hash.
func TestNRGChainOfBlocksRunInLockstep(t *testing.T) {
	chainRounds(t, 50, 50*time.Second, func(rg group[*rcobStateMachine], i uint64) uint64 {
		rg.randomMember().proposeBlock()
		return i
	})
}

// TestNRGChainOfBlocksStopAndCatchUp ports test 2699: each round stops a
// random replica, snapshots another, proposes blocks through the running
// ones and restarts the stopped one, which must catch up to the same hash.
func TestNRGChainOfBlocksStopAndCatchUp(t *testing.T) {
	const blocksPerRound = 3
	chainRounds(t, 50, 2*50*time.Second, func(rg group[*rcobStateMachine], i uint64) uint64 {
		stopped := rg.randomMember()
		stopped.stop()
		rg.randomMemberExcept(stopped).createSnapshot()

		require_NotNil(t, rg.waitOnLeader())
		for range blocksPerRound {
			rg.randomMemberExcept(stopped).proposeBlock()
		}
		stopped.restart()
		return i * blocksPerRound
	})
}
