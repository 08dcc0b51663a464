package store

import "testing"

func TestPutGet(t *testing.T) {
	s := New()
	s.Put("A", "1")
	if got := s.Get("a"); got != "1" {
		t.Fatalf("Get = %q", got)
	}
}

func helper(t *testing.T) { t.Helper() }

func TestSet(t *testing.T) {
	helper(t)
}
