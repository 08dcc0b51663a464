package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// DefaultSnapshotEvery is how many applied batches a node lets pass
// between snapshots, which bound its log and what a restart replays.
const DefaultSnapshotEvery = 512

// Config describes one replica.
type Config struct {
	// Host runs the replica's Raft node; its name fixes the node ID.
	Host *raftport.Server
	// Group names the Raft group, the same on every replica.
	Group string
	// Peers are the node IDs (raftport.NodeID of each host name) of every
	// member. They are written to Dir the first time only: afterwards the
	// group's own membership changes rule.
	Peers []string
	// Dir keeps the node's term and vote (tav.idx), peer set (peers.idx)
	// and snapshots.
	Dir string
	// Log is the node's write-ahead log. The node owns it from Start on:
	// raftport closes it when the node stops, so every start needs the
	// log opened again (storage.OpenFileWAL on the same directory).
	Log storage.WAL
	// SnapshotEvery overrides DefaultSnapshotEvery; negative disables.
	SnapshotEvery int
	Logger        *slog.Logger
}

// Node is one replica: a raftport node, the store its log builds, and the
// loop between them.
type Node struct {
	raft  raftport.RaftNode
	store *Store
	log   *slog.Logger
	every int

	snapReq  chan chan error // Snapshot asks the apply loop
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// hasState reports whether dir already holds a node's state, that is
// whether this start is a restart.
func hasState(dir string) bool {
	for _, name := range []string{storage.PeerStateFile, storage.TermVoteFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// Start bootstraps the replica on its first start, recovers it on later
// ones, and runs it.
func Start(cfg Config) (*Node, error) {
	if cfg.Host == nil || cfg.Log == nil || cfg.Dir == "" || cfg.Group == "" {
		return nil, errors.New("kv: Config needs Host, Group, Dir and Log")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A store with state is a restart: no bootstrap. raftport tells a
	// restart from tav.idx by itself too; Recovering also covers a store
	// that has only peers.idx, written by a bootstrap before a crash.
	restart := hasState(cfg.Dir)
	rc := &raftport.RaftConfig{Name: cfg.Group, Store: cfg.Dir, Log: cfg.Log, Recovering: restart}
	if !restart {
		if err := cfg.Host.BootstrapRaftNode(rc, cfg.Peers, true); err != nil {
			return nil, fmt.Errorf("kv: bootstrapping %s: %w", cfg.Dir, err)
		}
	}
	rn, err := cfg.Host.StartRaftNode("", rc)
	if err != nil {
		return nil, fmt.Errorf("kv: starting the node in %s: %w", cfg.Dir, err)
	}
	every := cfg.SnapshotEvery
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	n := &Node{
		raft:    rn,
		store:   NewStore(),
		log:     logger.With("group", cfg.Group, "node", rn.ID()),
		every:   every,
		snapReq: make(chan chan error),
		done:    make(chan struct{}),
	}
	n.wg.Add(1)
	go n.run()
	return n, nil
}

// run hands committed entries to the store until the node stops.
func (n *Node) run() {
	defer n.wg.Done()
	aq, quit := n.raft.ApplyQ(), n.raft.QuitC()
	sinceSnapshot := 0
	for {
		select {
		case <-quit:
			return
		case <-n.done:
			return
		case reply := <-n.snapReq:
			err := n.snapshot()
			if err == nil {
				sinceSnapshot = 0
			}
			reply <- err
		case <-aq.Ch():
			ces := aq.Pop()
			for _, ce := range ces {
				if n.applyBatch(ce) {
					sinceSnapshot++
				}
			}
			aq.Recycle(&ces)
			if n.every > 0 && sinceSnapshot >= n.every {
				if err := n.snapshot(); err == nil {
					sinceSnapshot = 0
				}
			}
		}
	}
}

// applyBatch applies one committed batch and reports whether it was one
// (nil marks the end of a replay or catchup, index 0 its start).
func (n *Node) applyBatch(ce *raftport.CommittedEntry) bool {
	if ce == nil {
		return false
	}
	defer ce.ReturnToPool()
	if ce.Index == 0 {
		return false
	}
	for _, e := range ce.Entries {
		switch e.Type {
		case raftport.EntryNormal:
			raw := e.Data
			var cmd Command
			if err := json.Unmarshal(raw, &cmd); err != nil {
				// Every replica skips it alike, so they stay in step.
				n.log.Error("undecodable command in the log", "index", ce.Index, "error", err)
				continue
			}
			n.store.apply(cmd, raw)
		case raftport.EntrySnapshot:
			if err := n.store.restore(e.Data); err != nil {
				n.log.Error("unusable snapshot", "index", ce.Index, "error", err)
			}
			n.log.Debug("restored snapshot", "index", ce.Index, "digest", n.store.digestOf())
		}
	}
	// Applied is called for every committed batch, including those
	// holding nothing for the store (peer state, membership, a new
	// leader's first entry), as raftport's package documentation requires:
	// otherwise the node never campaigns nor reports Leader().
	n.raft.Applied(ce.Index)
	n.store.setIndex(ce.Index)
	if n.log.Enabled(context.Background(), slog.LevelDebug) {
		n.log.Debug("applied", "index", ce.Index, "entries", len(ce.Entries), "digest", n.store.digestOf())
	}
	return true
}

// snapshot hands the store's state to raftport, which compacts the log
// up to what the store applied. It runs in the apply loop, so the state is
// exactly what was reported Applied. raftport refuses while it catches a
// follower up; the next batch tries again.
func (n *Node) snapshot() error {
	data, err := n.store.snapshot()
	if err != nil {
		return err
	}
	return n.raft.InstallSnapshot(data, false)
}

// Snapshot has the replica snapshot its state now and compact its log,
// instead of waiting for SnapshotEvery batches. raftport refuses while it
// is catching a follower up from the log.
func (n *Node) Snapshot() error {
	reply := make(chan error, 1)
	select {
	case n.snapReq <- reply:
		return <-reply
	case <-n.done:
		return ErrStopped
	case <-n.raft.QuitC():
		return ErrStopped
	}
}

// Do runs cmd through the log on this node, which must lead, and returns
// its result. Errors: ErrNotLeader (nothing proposed), ErrOutcomeUnknown
// and ErrStopped (it may commit: retry the same cmd), or a storage error.
func (n *Node) Do(ctx context.Context, cmd Command) (Result, error) {
	data, err := json.Marshal(cmd)
	if err != nil {
		return Result{}, err
	}
	at, err := propose(ctx, n.raft, data)
	if err != nil {
		return Result{}, err
	}
	if err := n.store.waitApplied(ctx, at.Index); err != nil {
		return Result{}, ErrOutcomeUnknown
	}
	r, ok := n.store.resultOf(cmd.Client, cmd.Seq)
	if !ok {
		// The client has since moved past this command.
		return Result{}, ErrOutcomeUnknown
	}
	return r, nil
}

// ReadLocal returns this replica's value of key without going through the
// log. It can be stale by any amount (a partitioned replica answers from
// its past): it is not linearizable, never use it where that matters.
func (n *Node) ReadLocal(key string) Result { return n.store.localGet(key) }

// ID is the replica's node ID.
func (n *Node) ID() string { return n.raft.ID() }

// Leader reports whether this replica leads and has applied its whole log.
func (n *Node) Leader() bool { return n.raft.Leader() }

// LeaderID names the leader this replica follows, "" if none.
func (n *Node) LeaderID() string { return n.raft.GroupLeader() }

// Raft is the replica's Raft node, for membership changes and stepping
// down.
func (n *Node) Raft() raftport.RaftNode { return n.raft }

// Status describes the replica's local state.
type Status struct {
	ID       string                 `json:"id"`
	Leader   bool                   `json:"leader"`
	LeaderID string                 `json:"leader_id"`
	Term     uint64                 `json:"term"`
	Applied  uint64                 `json:"applied"`
	Digest   Digest                 `json:"digest"`
	Sessions map[uint64]SessionInfo `json:"sessions,omitempty"` // by client ID
}

// Status reports the replica's state; withSessions adds which commands of
// every client it applied.
func (n *Node) Status(withSessions bool) Status {
	_, _, applied := n.raft.Progress()
	st := Status{
		ID: n.raft.ID(), Leader: n.raft.Leader(), LeaderID: n.raft.GroupLeader(),
		Term: n.raft.Term(), Applied: applied, Digest: n.store.digestOf(),
	}
	if withSessions {
		st.Sessions = n.store.sessionInfos()
	}
	return st
}

// Stop stops the replica and waits for its loop; pending commands end
// with ErrStopped.
func (n *Node) Stop() {
	n.raft.Stop()
	n.raft.WaitForStop()
	n.stopOnce.Do(func() { close(n.done) })
	n.wg.Wait()
}
