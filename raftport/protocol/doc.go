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
package protocol
