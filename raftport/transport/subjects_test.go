package transport

import (
	"errors"
	"testing"
)

func TestCheckSubject(t *testing.T) {
	cases := []struct {
		subject            string
		publish, subscribe bool // valid to publish to, valid to subscribe to
	}{
		{"a", true, true},
		{"$NRG.AE.G", true, true},
		{"a.*.c", false, true},
		{"a.>", false, true},
		{">", false, true},
		{"*", false, true},
		{"", false, false},
		{".", false, false},
		{".a", false, false},
		{"a.", false, false},
		{"a..b", false, false},
		{"a.>.b", false, false},
		{"a b", false, false},
		{"a\tb", false, false},
	}
	for _, c := range cases {
		for _, mode := range []struct {
			wildcards bool
			valid     bool
		}{{false, c.publish}, {true, c.subscribe}} {
			err := checkSubject(c.subject, mode.wildcards)
			if (err == nil) != mode.valid || (err != nil && !errors.Is(err, ErrBadSubject)) {
				t.Errorf("checkSubject(%q, wildcards %v) = %v, want valid %v", c.subject, mode.wildcards, err, mode.valid)
			}
		}
	}
}

// Every Publish checks its subject and reply, so a valid one must cost no
// allocation.
func TestCheckSubjectDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		if checkSubject("$NRG.AE.GROUP", false) != nil || checkSubject("$NRG.R.abcdefgh", false) != nil {
			t.Fatal("valid subject refused")
		}
	}); n != 0 {
		t.Fatalf("checking two valid subjects allocated %v times", n)
	}
}
