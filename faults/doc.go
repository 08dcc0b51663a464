// Package faults is raftport's fault suite: concurrent clients run gets,
// puts and compare-and-sets on the kv example (examples/kv) against 3- and
// 5-node groups in one process, while a seeded nemesis partitions,
// drops, duplicates and reorders messages, crashes nodes, cuts their
// power (storage.CrashFS drops every unsynced byte), pauses them, makes
// leaders step down or hand over, changes the membership and forces
// snapshots. After healing, the recorded history must be linearizable
// (checked with porcupine), every write a client saw acknowledged must be
// applied on every member, and every member must have applied the same
// commands in the same order.
//
// Everything a run does derives from its seed, which it prints with its
// fault schedule; a failing run prints the shortest failing history it
// could find. The suite reaches raftport only through its public API,
// the kv example, the in-process transport and storage.CrashFS, plus one
// call into the module's test window, internal/raftprobe (pausing a
// node), kept in probe.go.
package faults
