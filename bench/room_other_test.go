//go:build !linux

package bench

import (
	"errors"
	"os"
)

// allocate has no portable fallocate(2) to call.
func allocate(*os.File, int64, int64) error { return errors.ErrUnsupported }
