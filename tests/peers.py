"""The reference library for the interop tests: versioned-hdf5 as released,
from ../shared/peers beside the checkout (or $VH5_SHARED_DIR/peers), so that
CI runs them; $VH5_VERSIONED_HDF5_PATH (':'-separated) is searched first.

    import peers
    peers.add_to_path()   # then import versioned_hdf5, or exit 77 (skipped)
"""
import os
import sys


def add_to_path():
    shared = os.environ.get("VH5_SHARED_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
    extra = os.environ.get("VH5_VERSIONED_HDF5_PATH", "").split(":")
    for p in [os.path.join(shared, "peers")] + extra:
        if p and os.path.isdir(p):
            sys.path.insert(0, p)
