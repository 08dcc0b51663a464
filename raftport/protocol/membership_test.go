package protocol

import "testing"

func TestMayChange(t *testing.T) {
	ok := ChangeRequest{Kind: AddPeer, Leading: true, Peers: 3}
	for _, tc := range []struct {
		name string
		edit func(*ChangeRequest)
		want ChangeVerdict
	}{
		{"add", func(*ChangeRequest) {}, ChangeAllowed},
		{"remove", func(r *ChangeRequest) { r.Kind = RemovePeer }, ChangeAllowed},
		{"follower", func(r *ChangeRequest) { r.Leading = false }, ChangeNotLeader},
		{"follower with a write error", func(r *ChangeRequest) { r.Leading, r.WriteFailed = false, true }, ChangeNotLeader},
		{"write error", func(r *ChangeRequest) { r.WriteFailed = true }, ChangeWriteFailed},
		{"change while another pending", func(r *ChangeRequest) { r.Pending = 9 }, ChangePending},
		{"remove while another pending", func(r *ChangeRequest) { r.Kind, r.Pending = RemovePeer, 9 }, ChangePending},
		{"remove the last peer", func(r *ChangeRequest) { r.Kind, r.Peers = RemovePeer, 1 }, ChangeLastPeer},
		{"add to a lone leader", func(r *ChangeRequest) { r.Peers = 1 }, ChangeAllowed},
	} {
		r := ok
		tc.edit(&r)
		if got := MayChange(r); got != tc.want {
			t.Errorf("%s: MayChange(%+v) = %d, want %d", tc.name, r, got, tc.want)
		}
	}
}

func TestSettle(t *testing.T) {
	for _, tc := range []struct{ pending, index, want uint64 }{
		{0, 5, 0}, {5, 5, 0}, {4, 5, 0}, {6, 5, 6},
	} {
		if got := Settle(tc.pending, tc.index); got != tc.want {
			t.Errorf("Settle(%d, %d) = %d, want %d", tc.pending, tc.index, got, tc.want)
		}
	}
}

func TestResizeTo(t *testing.T) {
	for _, tc := range []struct {
		prev, known int
		want        Resize
	}{
		{3, 3, Resize{Size: 3, Quorum: 2}},
		{3, 4, Resize{Size: 4, Quorum: 3, Grew: true}},
		{3, 2, Resize{Size: 2, Quorum: 2, Shrank: true}},
		{2, 1, Resize{Size: 1, Quorum: 1, Shrank: true}},
		{0, 5, Resize{Size: 5, Quorum: 3, Grew: true}},
	} {
		if got := ResizeTo(tc.prev, tc.known); got != tc.want {
			t.Errorf("ResizeTo(%d, %d) = %+v, want %+v", tc.prev, tc.known, got, tc.want)
		}
	}
}
