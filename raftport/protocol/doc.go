// Package protocol holds raftport's Raft rules as pure functions: each takes
// the part of a node's state that a rule needs and one event, and returns
// the decision as a value. Nothing here locks, starts goroutines, reads a
// clock or does I/O; the node shell in package raftport persists, sends and
// times what these decisions ask for. Every rule has a table-driven test.
//
// # Elections and leadership
//
// A node's role (Follower, Candidate, Leader, Closed) changes only through
// Enter; votes, vote replies, candidacies, quorum loss, handovers and
// health checks are each one rule (vote.go, role.go, leader.go). Times
// reach these rules as durations the shell measured, never as clocks.
//
//   - DecideVote: grant or refuse a ballot and what to persist first (stale
//     term, later term, already voted, shorter or older log, empty,
//     initializing and abstaining voters, early campaign). Test: TestDecideVote
//   - JudgeVoteReply: a candidate counts granted votes of its term; a later
//     term makes a candidate (adopting it) or a leader step down. Test: TestJudgeVoteReply
//   - ElectionWon: a quorum of voters with a log, or every member, wins
//     (Tally.Won). Test: TestElectionWon
//   - Enter: what a switch of role resets and signals (leader marks, acks,
//     transfer, term, leader queues, pending cache, announcement). Test: TestEnter
//   - StandForElection: observers, paused and unprocessed nodes retry later;
//     a repeated candidacy without quorum is signalled at most once per two
//     windows. Test: TestStandForElection
//   - MayCampaign: only a non-leader may ask for an election. Test: TestMayCampaign
//   - HeardQuorum: a quorum of members was heard within the window, the node
//     itself included. Test: TestHeardQuorum
//   - LostQuorum: a leader steps down without a heard quorum, unless responses
//     are queued or the cluster just grew. Test: TestLostQuorum
//   - MostCaughtUp: the peer that stored most of the log. Test: TestMostCaughtUp
//   - ChooseSuccessor: the healthy preferred peer, or else the healthy peer
//     furthest along, for a leadership transfer. Test: TestChooseSuccessor
//   - JudgeHealth: current, behind (and why) or lagging in applies. Test: TestJudgeHealth
//   - ApplyProgress: a lagging node closes its apply gap. Test: TestApplyProgress
//
// # Append entries
//
//   - AppendTermCheck: a leader refuses an older sender and yields to a newer or twin one; a candidate yields to a leader of its term or newer; a follower refuses stale live entries, drops stale catchup entries and adopts newer terms (persisted for live entries). Test: TestAppendTermCheck
//   - AppendCatchupGate: during a catchup, live entries are held unless the catchup reached its target or the entry continues our log, which ends the catchup; entries of a stream we left only continue our log. Test: TestAppendCatchupGate
//   - AppendLogMatch: an entry continuing our log is stored, one starting inside it is reconciled, one past it asks for a catchup (or, inside a catchup, must be the snapshot). Test: TestAppendLogMatch
//   - AppendReconcile: entries behind commit, redelivered, or whose index and term we already hold are left alone (nothing is cut); a matching previous entry cuts the log back to it and stores; a conflicting one cuts it and what follows; a snapshot boundary resumes; otherwise the log is reset. Test: TestAppendReconcile
//   - AppendReask: a follower holding live entries asks again for its catchup when the catchup timer stalled or ReaskAfter entries arrived without its log growing. Test: TestAppendReask
//   - AppendCatchupAck: a catchup entry is acknowledged only when it is from our catchup stream, of a leader of our term, and brings our log to the catchup's target. Test: TestAppendCatchupAck
//   - AppendAnswer: a leader counts successes, serves followers asking for entries and yields to a newer term. Test: TestAppendAnswer
//   - AppendResend: a gap of at most ResendLimit entries within the leader's log, with no stream running, is re-sent at once; anything else gets a catchup stream. Test: TestAppendResend
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
