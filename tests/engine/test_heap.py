"""The heap tuning of processes that stack (tether/engine/heap.py): freed image-sized blocks leave the process."""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

# In a process of its own: the tuning is for the whole process, once. Blocks of 300-900 kB (a 3 MP
# strip's coarser pyramid levels, gates and masks) are freed between small ones that stay, as
# pass 2 leaves them.
_PROGRAM = """
import numpy as np
from tether.engine.heap import limit_heap_growth

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

limit_heap_growth()
before = rss()
blocks, kept = [], []
for k in range(60):
    blocks.append(np.ones(300_000 + 10_000 * k, np.uint8))
    kept.append(bytearray(4096))
del blocks
print((rss() - before) / 2**20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not Path("/proc/self/status").exists(),
                    reason="glibc's heap, measured through /proc")
def test_freed_blocks_below_a_megabyte_leave_the_process() -> None:
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    left = float(done.stdout)
    # The 60 blocks came to 53 MB; what stays is the small blocks kept and the heap's slack.
    assert left < 4, f"{left:.1f} MB of freed blocks stayed resident"
