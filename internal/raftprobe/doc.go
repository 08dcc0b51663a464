// Package raftprobe is the test window into raftport's nodes: the steps and
// readings the ported reference tests need (deliver this append entry,
// become leader now, what is the commit index) that a library user has no
// business with. Living under the module's internal/ directory, it can be
// imported by this module's tests (raftport_test, faults) and by raftport
// itself, and by no user of the library.
//
// The package declares the window (Window), the plain values it reads and
// writes (ReplicationState, AppendEntrySpec, ...) and a registry. raftport
// imports it, implements the window on an unexported type and registers a
// Port in its init; a test then opens the window on a node with
// Get[raftport.Entry, raftport.RaftState]().Open(node). The window is
// parameterised by raftport's entry and state types because this package
// cannot import raftport without an import cycle.
package raftprobe
