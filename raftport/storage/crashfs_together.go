package storage

import (
	"errors"
	"sync"
)

// togetherMu serialises CrashTogether calls, which take several CrashFS
// locks: two of them taking overlapping sets in different orders would
// otherwise deadlock.
var togetherMu sync.Mutex

// CrashTogether is a power loss of several machines at one instant: every
// CrashFS is stopped before any of them is rewritten, so no machine gets
// to write, sync or rename anything once another has lost power (crashing
// them one by one would let the later ones run on meanwhile). Each is then
// rewritten as Crash does and stays down until its Restart.
func CrashTogether(fss ...*CrashFS) error {
	togetherMu.Lock()
	defer togetherMu.Unlock()
	seen := make(map[*CrashFS]bool, len(fss))
	var locked []*CrashFS
	for _, c := range fss {
		if c == nil || seen[c] {
			continue
		}
		seen[c] = true
		c.mu.Lock()
		locked = append(locked, c)
	}
	var errs []error
	for _, c := range locked {
		errs = append(errs, c.crashLocked())
	}
	for _, c := range locked {
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}
