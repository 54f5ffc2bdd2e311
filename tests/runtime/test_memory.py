"""runtime/memory: the glibc allocator settings of issue 13, point 3."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt / malloc_trim are Linux-only")
def test_tune_allocator_takes_effect_once_and_release_runs():
    code = (
        "from fracatlas_annot.runtime import memory as m\n"
        "assert m.tune_allocator() is True and m.tune_allocator() is True\n"
        "import numpy as np\n"
        "a = [np.ones(2**19) for _ in range(8)]\n"  # 4 MiB blocks: over the pinned threshold
        "del a\n"
        "m.release()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
