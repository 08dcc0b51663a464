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
//   - AppendTermCheck: a leader refuses an older sender and yields to a newer or twin one; a candidate yields to a leader of its term or newer; a follower refuses stale live entries, drops stale catchup entries and adopts newer terms (persisted for live entries). Test: TestAppendTermCheck
//   - AppendCatchupGate: during a catchup, live entries are held unless the catchup reached its target or the entry continues our log, which ends the catchup; entries of a stream we left only continue our log. Test: TestAppendCatchupGate
//   - AppendLogMatch: an entry continuing our log is stored, one starting inside it is reconciled, one past it asks for a catchup (or, inside a catchup, must be the snapshot). Test: TestAppendLogMatch
//   - AppendReconcile: entries behind commit or redelivered are already held; a matching previous entry cuts the log back to it and stores; a conflicting one cuts it and what follows; a snapshot boundary resumes; otherwise the log is reset. Test: TestAppendReconcile
//   - AppendReask: a follower holding live entries asks again for its catchup when the catchup timer stalled or ReaskAfter entries arrived without its log growing. Test: TestAppendReask
//   - AppendAnswer: a leader counts successes, serves followers asking for entries and yields to a newer term. Test: TestAppendAnswer
//   - AppendResend: a gap of at most ResendLimit entries within the leader's log, with no stream running, is re-sent at once; anything else gets a catchup stream. Test: TestAppendResend
//
// # Catchup
//
// # Commit, quorum and membership
package protocol
