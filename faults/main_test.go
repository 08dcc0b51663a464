package faults

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the suite's node directories on /dev/shm when there is
// one (as raftport_test does: a second-long fsync stall on a shared disk
// costs a leader its term at these election timeouts; the WAL's own
// durability is tested on the real disk in raftport/storage, and CrashFS
// decides here what a power loss keeps), and fails on leaked goroutines.
func TestMain(m *testing.M) {
	if os.Getenv("RAFTPORT_TEST_DISK") == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			if dir, err := os.MkdirTemp("/dev/shm", "faults-"); err == nil {
				os.Setenv("TMPDIR", dir)
				defer os.RemoveAll(dir)
			}
		}
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	if code != 0 {
		os.Exit(code)
	}
}
