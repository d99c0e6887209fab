"""Keep freed memory inside the process (Linux, glibc), so large tensors reuse pages.

glibc hands freed blocks above its mmap threshold back to the kernel, and sampling frees
and reallocates tensors of a few MB at every layer of every step; keeping them saves a
quarter of a denoiser call on a 2-core CPU (docs/decisions.md). Peak memory is unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> None:
    """Raise glibc's mmap and trim thresholds; a no-op anywhere else."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
