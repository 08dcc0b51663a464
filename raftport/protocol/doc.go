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
// A catchup is a stream a leader sends to one follower's private inbox;
// the inbox is the stream's identity, which both ends check.
//
//   - AdmitStreamEntry: only the follower's current stream is processed; a
//     stale one is dropped whatever its index, a finished one only where
//     it continues the log. Test: TestAdmitStreamEntry
//   - TargetReached: a catchup ends once the log holds its target; ended
//     there, its stream stays current. Test: TestTargetReached
//   - StreamAnchor: a stream starts after the last entry both logs can
//     share, past the follower's whole conflicting suffix. Test:
//     TestStreamAnchor
//   - NeedsSnapshot: a follower that needs compacted entries gets the
//     snapshot first. Test: TestNeedsSnapshot
//   - HandoffAfterSnapshot: where the log continues after the snapshot
//     and whether entries remain. Test: TestHandoffAfterSnapshot
//   - Window: at most a window of bytes in flight; acknowledgements free
//     what they cover; the end extends to what the leader appended since.
//     Test: TestWindow, TestWindowExtendOnlyForward
//   - Stall: a side that has not moved for the activity interval has
//     stalled. Test: TestStall
//
// # Commit, quorum and membership
package protocol
