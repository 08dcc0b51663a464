//go:build unix

package textout

import "golang.org/x/sys/unix"

// terminalSize reports whether fd is a terminal and, if so, its width.
func terminalSize(fd uintptr) (terminal bool, cols int) {
	ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ)
	if err != nil {
		return false, 0
	}
	return true, int(ws.Col)
}
