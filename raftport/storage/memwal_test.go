package storage

import (
	"bytes"
	"errors"
	"testing"
)

// TestMemWALAppendOwned: an owned append takes the next index like Append,
// counts its bytes, reads back intact, and keeps the caller's buffer
// instead of copying it (no allocation per entry beyond the log's growth).
func TestMemWALAppendOwned(t *testing.T) {
	w := NewMemWAL()
	if _, err := w.Append(1, []byte("copied")); err != nil {
		t.Fatal(err)
	}
	owned := bytes.Repeat([]byte{7}, 4096)
	index, err := w.AppendOwned(2, owned)
	if err != nil || index != 2 {
		t.Fatalf("owned append: index %d, %v; want 2", index, err)
	}
	term, data, err := w.Load(2)
	if err != nil || term != 2 || !bytes.Equal(data, owned) {
		t.Fatalf("load 2: term %d, %d bytes, %v", term, len(data), err)
	}
	if st := w.State(); st.LastIndex != 2 || st.Bytes != uint64(len("copied")+4096) || st.LastTerm != 2 {
		t.Fatalf("state %+v", st)
	}
	if allocs := testing.AllocsPerRun(1000, func() {
		if _, err := w.AppendOwned(3, owned); err != nil {
			t.Fatal(err)
		}
	}); allocs >= 1 {
		t.Fatalf("%.2f allocations per owned append of 4 KiB: it copies", allocs)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AppendOwned(3, owned); !errors.Is(err, ErrClosed) {
		t.Fatalf("owned append on a closed log: %v, want ErrClosed", err)
	}
}
