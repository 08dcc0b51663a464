// Package kv is a replicated key-value store on raftport: get, put and
// compare-and-set, every one of them linearizable, served over any
// raftport transport (the in-process network in tests, NATS in kvnode).
//
// Every command, reads included, goes through the Raft log: a command's
// result is computed when the log applies it, so it reflects every
// command committed before it and none after. This costs a log write per
// read; it is the simple scheme that is safe without clocks.
//
// Clients number their commands (Command.Client, Command.Seq) and the store
// keeps the last result of each client, so a command retried after an
// unknown outcome (a leader lost, a timeout) is applied at most once.
package kv

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
)

// Op names what a Command does.
type Op string

const (
	OpGet Op = "get"
	OpPut Op = "put"
	OpCAS Op = "cas" // set Key to Value if it holds Old
)

// Command is one client request, as it travels to a node and is stored in
// the log. Client and Seq identify it: a client sends its commands one at
// a time, each with the next Seq, and retries one with the same Seq.
type Command struct {
	Client uint64 `json:"client"`
	Seq    uint64 `json:"seq"`
	Op     Op     `json:"op"`
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Old    string `json:"old,omitempty"`
}

func (c Command) String() string {
	switch c.Op {
	case OpPut:
		return fmt.Sprintf("put(%q, %q)", c.Key, c.Value)
	case OpCAS:
		return fmt.Sprintf("cas(%q, %q -> %q)", c.Key, c.Old, c.Value)
	}
	return fmt.Sprintf("%s(%q)", c.Op, c.Key)
}

// Result is what a command returned when the log applied it.
type Result struct {
	Value string `json:"value,omitempty"` // get: the value
	Found bool   `json:"found,omitempty"` // get: the key exists; cas: it existed
	OK    bool   `json:"ok,omitempty"`    // put: always; cas: the value was swapped
}

// session is the last command a client had applied and its result, and
// the Seqs it skipped: a command that arrives after a later one of its
// client never runs, so a jump from Seq 4 to 7 means 5 and 6 never will.
type session struct {
	Seq     uint64      `json:"seq"`
	Result  Result      `json:"result"`
	Skipped [][2]uint64 `json:"skipped,omitempty"` // inclusive ranges
}

// SessionInfo says which commands of one client a replica applied.
type SessionInfo struct {
	Last    uint64      `json:"last"`              // the client's last Seq applied
	Skipped [][2]uint64 `json:"skipped,omitempty"` // Seq ranges below Last never applied
}

// Applied reports whether the command numbered seq was applied.
func (si SessionInfo) Applied(seq uint64) bool {
	if seq == 0 || seq > si.Last {
		return false
	}
	for _, r := range si.Skipped {
		if seq >= r[0] && seq <= r[1] {
			return false
		}
	}
	return true
}

// Store is the state the log builds: keys, client sessions, and a digest
// chained over every command applied, so that two replicas that applied
// the same commands in the same order hold the same digest.
type Store struct {
	mu       sync.Mutex
	moved    chan struct{} // closed and replaced when index moves
	data     map[string]string
	sessions map[uint64]session
	commands uint64   // log commands applied, duplicates included
	digest   [32]byte // sha256 chain over the commands' log bytes
	index    uint64   // raft index of the last batch applied
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{data: map[string]string{}, sessions: map[uint64]session{}, moved: make(chan struct{})}
}

// apply runs one command from the log. raw is the command as the log
// holds it, which is what the digest covers.
func (s *Store) apply(cmd Command, raw []byte) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands++
	h := sha256.New()
	h.Write(s.digest[:])
	h.Write(raw)
	h.Sum(s.digest[:0])

	last := s.sessions[cmd.Client]
	if cmd.Seq <= last.Seq {
		// A retry of a command already applied (its result stands) or a
		// command its client gave up on and went past: neither runs again.
		return last.Result
	}
	var r Result
	switch cmd.Op {
	case OpGet:
		r.Value, r.Found = s.data[cmd.Key]
	case OpPut:
		s.data[cmd.Key] = cmd.Value
		r.OK = true
	case OpCAS:
		var cur string
		cur, r.Found = s.data[cmd.Key]
		if r.Found && cur == cmd.Old {
			s.data[cmd.Key] = cmd.Value
			r.OK = true
		}
	}
	if cmd.Seq > last.Seq+1 {
		last.Skipped = append(last.Skipped, [2]uint64{last.Seq + 1, cmd.Seq - 1})
	}
	s.sessions[cmd.Client] = session{Seq: cmd.Seq, Result: r, Skipped: last.Skipped}
	return r
}

// resultOf returns the result of a client's command if it is the last one
// the client had applied.
func (s *Store) resultOf(client, seq uint64) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.sessions[client]
	if !ok || last.Seq != seq {
		return Result{}, false
	}
	return last.Result, true
}

// setIndex records that every entry up to index is applied.
func (s *Store) setIndex(index uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index > s.index {
		s.index = index
		close(s.moved)
		s.moved = make(chan struct{})
	}
}

// waitApplied waits until the store has applied index.
func (s *Store) waitApplied(ctx context.Context, index uint64) error {
	for {
		s.mu.Lock()
		done, moved := s.index >= index, s.moved
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// snapshotState is the store's snapshot encoding.
type snapshotState struct {
	Data     map[string]string  `json:"data"`
	Sessions map[uint64]session `json:"sessions"`
	Commands uint64             `json:"commands"`
	Digest   [32]byte           `json:"digest"`
}

// snapshot encodes the whole state.
func (s *Store) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(snapshotState{Data: s.data, Sessions: s.sessions, Commands: s.commands, Digest: s.digest})
}

// restore replaces the state with a snapshot's.
func (s *Store) restore(data []byte) error {
	var st snapshotState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("kv: snapshot: %w", err)
	}
	if st.Data == nil {
		st.Data = map[string]string{}
	}
	if st.Sessions == nil {
		st.Sessions = map[uint64]session{}
	}
	s.mu.Lock()
	s.data, s.sessions, s.commands, s.digest = st.Data, st.Sessions, st.Commands, st.Digest
	s.mu.Unlock()
	return nil
}

// Digest identifies what the store applied: the count of commands and the
// hash chained over them. Replicas that applied the same log agree on it.
type Digest struct {
	Commands uint64 `json:"commands"`
	Hash     string `json:"hash"`
}

func (s *Store) digestOf() Digest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Digest{Commands: s.commands, Hash: fmt.Sprintf("%x", s.digest[:8])}
}

// sessionInfos describes every client's applied commands.
func (s *Store) sessionInfos() map[uint64]SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint64]SessionInfo, len(s.sessions))
	for c, sess := range s.sessions {
		out[c] = SessionInfo{Last: sess.Seq, Skipped: append([][2]uint64(nil), sess.Skipped...)}
	}
	return out
}

// localGet reads this replica's state as it is, however stale.
func (s *Store) localGet(key string) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return Result{Value: v, Found: ok}
}
