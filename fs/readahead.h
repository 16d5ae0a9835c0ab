// The kernel's readahead window for one FUSE mount.
//
// A new FUSE mount starts at the system default readahead (128 KiB), and
// INIT only lowers it to the smaller of that and the daemon's max_readahead;
// the size of read requests follows. Writing /sys/class/bdi/<dev>/read_ahead_kb
// between mount(2) and INIT (which root may do) raises both: fewer round trips
// per byte read.
#pragma once

#include <string>

namespace vh5fs {

// The "major:minor" of the filesystem mounted at `mountpoint`, from
// /proc/self/mountinfo (no stat of the mount point, which this process
// itself may be about to serve); empty if not found.
std::string MountDevice(const std::string& mountpoint);

// Sets the readahead of the mount with device `device`; false (errno set)
// when the kernel refuses, as it does for non-root users.
bool SetReadaheadKb(const std::string& device, unsigned kb);

}  // namespace vh5fs
