//go:build !unix

package textout

// terminalSize cannot ask the terminal here; output is treated as a pipe.
func terminalSize(uintptr) (terminal bool, cols int) { return false, 0 }
