// Package protocol holds raftport's Raft rules as pure functions: each takes
// the part of a node's state that a rule needs and one event, and returns
// the decision as a value. Nothing here locks, starts goroutines, reads a
// clock or does I/O; the node shell in package raftport persists, sends and
// times what these decisions ask for. Every rule has a table-driven test.
//
// # Elections and leadership
//
// # Append entries
//
// # Catchup
//
// # Commit, quorum and membership
//
//   - QuorumOf: a quorum is more than half of the cluster size. Test: TestQuorumOf
//   - Sized: a cluster sized by hand is never below MinClusterSize (2), so a lone node with unknown peers is not its own quorum. Test: TestSized
//   - JudgeAck: an ack counts only while leading, for an uncommitted index within the leader's log, from a current member. Test: TestJudgeAck
//   - Acks.Record, Votes: a peer counts once per index however often it acks, and only while still a member (a removed peer's acks stop counting). Test: TestAcksRecordAndVotes
//   - CommitTo: an index commits once a quorum holds it and it is an entry of the leader's own term; earlier terms' entries commit only with one. Test: TestCommitTo
//   - MayChange: only the leader starts a membership change, with its log healthy, one at a time, never removing the last peer. Test: TestMayChange
//   - Settle: a committed change at or below the pending index ends it. Test: TestSettle
//   - ResizeTo: the cluster size is the count of known peers, its quorum follows; growth and shrinkage are reported. Test: TestResizeTo
package protocol
