//go:build unix

package gates

import (
	"os/exec"
	"syscall"
)

// killGroup makes a timeout kill the go command together with the test
// binaries it started, which would otherwise outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
