package raftport

// LogEntry is one record of a node's log as RaftNodeCheckpoint's
// AppendEntriesSeq yields it: the entries one append entry carried, at the
// log index it was stored at. It stays valid after the iteration moves on.
type LogEntry struct {
	Index   uint64 // its index in the log
	Term    uint64 // the term it was written in
	Entries []*Entry
}
