package bench

import (
	"strings"
	"testing"
)

func TestReplicaRejectsGapsDuplicatesStrangersAndShortEntries(t *testing.T) {
	pattern := newPattern(24)
	r := newReplica(2, 2, 24)
	r.expect(3)
	for _, e := range [][2]int{{0, 0}, {1, 0}, {0, 1}} {
		if _, _, err := r.apply(payload(pattern, e[0], uint64(e[1]))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{payload(pattern, 0, 1), "applied entry 1 of proposer 0 where 2 was due"},
		{payload(pattern, 1, 2), "applied entry 2 of proposer 1 where 1 was due"},
		{payload(pattern, 2, 0), "an entry of proposer 2, of 2"},
		{[]byte{1, 2, 3}, "3-byte entry"},
	} {
		_, _, err := r.apply(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("apply: got %v, want an error containing %q", err, tc.want)
		}
	}
	if got := r.count(); got != 3 {
		t.Fatalf("rejected entries were counted: applied %d", got)
	}
}

func TestReplicaSnapshotRoundTripAndReset(t *testing.T) {
	pattern := newPattern(32)
	src := newReplica(0, 2, 32)
	for seq := range uint64(3) {
		for p := range 2 {
			if _, _, err := src.apply(payload(pattern, p, seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	dst := newReplica(1, 2, 32)
	reached := dst.expect(6)
	if err := dst.restore(src.snapshot()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	default:
		t.Fatal("restoring past the target did not signal it")
	}
	a, b := src.state(), dst.state()
	if a.applied != b.applied || a.order != b.order || a.sums[1] != b.sums[1] || b.next[1] != 3 {
		t.Fatalf("restored state %+v, want %+v", b, a)
	}
	snap := src.snapshot()
	if want := 12 + 2*12 + 6*32; len(snap) != want {
		t.Fatalf("snapshot of 6 entries of 32 bytes is %d bytes, want %d", len(snap), want)
	}
	for _, bad := range [][]byte{{1}, snap[:len(snap)-1]} {
		if err := dst.restore(bad); err != errBadSnapshot {
			t.Fatalf("%d-byte snapshot: got %v, want %v", len(bad), err, errBadSnapshot)
		}
	}
	if _, _, err := dst.apply(payload(pattern, 1, 3)); err != nil {
		t.Fatalf("applying after restore: %v", err)
	}
	dst.reset()
	if st := dst.state(); st.applied != 0 || st.next[1] != 0 || st.sums[1] != 0 || st.order != 0 {
		t.Fatalf("reset left %+v", st)
	}
	if _, _, err := dst.apply(payload(pattern, 1, 0)); err != nil {
		t.Fatalf("replaying after a reset: %v", err)
	}
}
