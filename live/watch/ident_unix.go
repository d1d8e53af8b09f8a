//go:build unix

package watch

import (
	"io/fs"
	"syscall"
)

// devIno returns the device and inode of a file.
func devIno(info fs.FileInfo) (uint64, uint64) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // the types differ by platform
	}
	return 0, 0
}
