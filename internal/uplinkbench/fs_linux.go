package main

import (
	"fmt"
	"syscall"
)

// fsType names the filesystem dir is on, for the fsync figures' context.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown filesystem"
	}
	// Type is int32 or int64 by architecture; the magic numbers are 32 bits.
	switch magic := uint32(st.Type); magic {
	case 0xEF53:
		return "ext2/3/4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs (fsync is free)"
	case 0x794C7630:
		return "overlayfs"
	case 0xF2F52010:
		return "f2fs"
	case 0x4D44:
		return "vfat"
	default:
		return fmt.Sprintf("filesystem magic %#x", magic)
	}
}
