// Package raftport is a Raft library: a Go port of the NATS server's Raft
// (its behaviour, wire formats, subjects and files), with the protocol's
// rules in package protocol and this package as the node around them.
//
// A host (NewServer) runs nodes (StartRaftNode), one per group, over a
// transport.Conn: the NATS connection or the in-process network of package
// transport. Each node has a store directory for its term and vote
// (tav.idx), its peer set (peers.idx) and its snapshots, and a log, a
// storage.WAL. Example shows a whole node; the rules below are what an
// application must know.
//
// # Applying what commits
//
// Committed entries arrive on ApplyQ as CommittedEntry values. The
// application must call Applied(ce.Index) for every one it takes,
// including those whose Entries are empty: the node's own entries (a new
// leader's peer state, for one) arrive that way. A node whose applied
// index lags its commit never campaigns and never reports Leader(). A nil
// CommittedEntry marks the end of a replay or of a catchup. Entries' Data
// may be shared with the proposer or with other nodes in the process:
// keep them if need be, but never write into them.
//
// # Proposals and their outcome
//
// Propose and ProposeMulti are fire and forget, as in the NATS server.
// ProposeWait waits for the outcome: an Outcome (where it committed), or
// ErrNotLeader (it never reached the log: retry at the leader),
// ErrOutcomeUnknown (it reached the log but leadership changed before it
// committed, so it may or may not commit: make retried commands
// idempotent), or ErrNodeClosed. The proposals a leader had queued when it
// steps down are dropped, and their waits end with ErrNotLeader.
//
// A CommittedEntry's Index names a batch of commands, not one command:
// Outcome.Pos is the command's position in that batch's Entries, so
// (Index, Pos) orders the commands of the log.
//
// # The log, and restarting on kept storage
//
// The node owns the RaftConfig.Log it is given from the start until Stop,
// which closes it (Delete deletes it). To restart on kept storage, open
// the log again and start a node with it on the same store directory: a
// storage.FileWAL with storage.OpenFileWAL on the same directory, a
// storage.MemWAL with its Reopen method (Close keeps a MemWAL's entries;
// ExampleRaftConfig_restart shows it). Whether a log is kept in memory
// only is what its Volatile method says, so a wrapper that embeds a WAL is
// treated as what it wraps. A fresh volatile log (nothing stored yet)
// starts without the node's old snapshots: its state comes from the
// leader.
//
// A node detects a restart from its store directory: when tav.idx holds a
// term, the node took part in the group before, and starts as
// RaftConfig.Recovering says for restarts (an empty durable log then
// means lost data, and the node abstains from elections until a leader
// has caught it up). Recovering need only be set for a node first seen
// after a catchup.
//
// # Faults in process
//
// The in-process network of package transport injects faults: partitions
// (SetPartition replaces the current one in a step, Heal removes all),
// message loss, delay and duplication. Package faults runs the
// linearizability suite on them.
package raftport
