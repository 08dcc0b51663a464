//go:build !unix

package gates

import "os/exec"

// killGroup kills the go command alone where process groups are not
// available; WaitDelay then bounds the wait on its children's pipes.
func killGroup(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
}
