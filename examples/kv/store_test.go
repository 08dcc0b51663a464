package kv

import (
	"encoding/json"
	"slices"
	"testing"
)

func applyJSON(t *testing.T, s *Store, cmd Command) Result {
	t.Helper()
	raw, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return s.apply(cmd, raw)
}

// TestStoreCommands: put, get and compare-and-set as the log applies them.
func TestStoreCommands(t *testing.T) {
	s := NewStore()
	steps := []struct {
		cmd  Command
		want Result
	}{
		{Command{Client: 1, Seq: 1, Op: OpGet, Key: "a"}, Result{}},
		{Command{Client: 1, Seq: 2, Op: OpCAS, Key: "a", Old: "", Value: "x"}, Result{}},
		{Command{Client: 1, Seq: 3, Op: OpPut, Key: "a", Value: "1"}, Result{OK: true}},
		{Command{Client: 2, Seq: 1, Op: OpGet, Key: "a"}, Result{Value: "1", Found: true}},
		{Command{Client: 2, Seq: 2, Op: OpCAS, Key: "a", Old: "0", Value: "2"}, Result{Found: true}},
		{Command{Client: 2, Seq: 3, Op: OpCAS, Key: "a", Old: "1", Value: "2"}, Result{Found: true, OK: true}},
		{Command{Client: 1, Seq: 4, Op: OpGet, Key: "a"}, Result{Value: "2", Found: true}},
	}
	for i, st := range steps {
		if got := applyJSON(t, s, st.cmd); got != st.want {
			t.Fatalf("step %d %v: got %+v, want %+v", i, st.cmd, got, st.want)
		}
	}
}

// TestStoreAppliesARetryOnce: a command retried with the same Seq returns
// its first result and changes nothing; one its client went past is
// skipped.
func TestStoreAppliesARetryOnce(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, Command{Client: 7, Seq: 1, Op: OpPut, Key: "k", Value: "a"})
	cas := Command{Client: 7, Seq: 2, Op: OpCAS, Key: "k", Old: "a", Value: "b"}
	if r := applyJSON(t, s, cas); !r.OK {
		t.Fatalf("first cas failed: %+v", r)
	}
	applyJSON(t, s, Command{Client: 8, Seq: 1, Op: OpPut, Key: "k", Value: "a"})
	// Applied again, the CAS would swap a second time.
	if r := applyJSON(t, s, cas); !r.OK {
		t.Fatalf("the retry lost the first result: %+v", r)
	}
	if got := s.localGet("k"); got.Value != "a" {
		t.Fatalf("the retry ran again: k = %q", got.Value)
	}
	applyJSON(t, s, Command{Client: 7, Seq: 3, Op: OpGet, Key: "k"})
	applyJSON(t, s, Command{Client: 7, Seq: 2, Op: OpPut, Key: "k", Value: "stale"})
	if got := s.localGet("k"); got.Value != "a" {
		t.Fatalf("a superseded command ran: k = %q", got.Value)
	}
	if r, ok := s.resultOf(7, 3); !ok || r.Value != "a" {
		t.Fatalf("resultOf(7, 3) = %+v, %v", r, ok)
	}
	if _, ok := s.resultOf(7, 2); ok {
		t.Fatal("resultOf answers for a superseded command")
	}
}

// TestStoreSnapshotRoundTrip: a restored snapshot carries keys, sessions
// and the digest, so replicas restored from it stay comparable.
func TestStoreSnapshotRoundTrip(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, Command{Client: 1, Seq: 1, Op: OpPut, Key: "k", Value: "v"})
	applyJSON(t, s, Command{Client: 2, Seq: 5, Op: OpGet, Key: "k"})
	r := roundTrip(t, s)
	if r.digestOf() != s.digestOf() {
		t.Fatalf("digest %+v after restore, want %+v", r.digestOf(), s.digestOf())
	}
	next := Command{Client: 1, Seq: 2, Op: OpPut, Key: "k", Value: "w"}
	applyJSON(t, s, next)
	applyJSON(t, r, next)
	if r.digestOf() != s.digestOf() || r.localGet("k") != s.localGet("k") {
		t.Fatal("the restored store diverged on the next command")
	}
	if got := applyJSON(t, r, Command{Client: 2, Seq: 5, Op: OpGet, Key: "k"}); got.Value != "v" {
		t.Fatalf("restored session lost its result: %+v", got)
	}
	if err := r.restore([]byte("{")); err == nil {
		t.Fatal("a damaged snapshot was accepted")
	}
}

// TestStoreRecordsSkippedCommands: a client's Seqs that the log jumped
// over are reported as never applied, and stay so when they arrive late.
func TestStoreRecordsSkippedCommands(t *testing.T) {
	s := NewStore()
	for _, seq := range []uint64{1, 2, 5, 3, 6, 9} {
		applyJSON(t, s, Command{Client: 1, Seq: seq, Op: OpPut, Key: "k", Value: "v"})
	}
	info := s.sessionInfos()[1]
	for seq, want := range map[uint64]bool{1: true, 2: true, 3: false, 4: false, 5: true, 6: true, 7: false, 8: false, 9: true, 10: false, 0: false} {
		if got := info.Applied(seq); got != want {
			t.Errorf("Applied(%d) = %v, want %v (session %+v)", seq, got, want, info)
		}
	}
	r := roundTrip(t, s)
	if got := r.sessionInfos()[1]; !slices.Equal(got.Skipped, info.Skipped) || got.Last != info.Last {
		t.Fatalf("restored session %+v, want %+v", got, info)
	}
}

// roundTrip restores a new store from s's snapshot.
func roundTrip(t *testing.T, s *Store) *Store {
	t.Helper()
	data, err := s.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := NewStore()
	if err := r.restore(data); err != nil {
		t.Fatal(err)
	}
	return r
}
