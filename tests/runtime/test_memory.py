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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt / malloc_trim are Linux-only")
def test_forked_workers_reuse_large_buffers(tmp_path):
    """A worker process of the one parallel map, forked from a command that pinned the mmap
    threshold, reuses a freed 6.6 MB buffer (a radiograph's pixels) for the next one: the 39
    buffers after the first fault in no more pages than the first did (with the pin inherited,
    each is mapped and faulted in anew: 39 times as many). Page faults counted, not time."""
    script = tmp_path / "faults.py"
    script.write_text(
        "import resource\n"
        "import numpy as np\n"
        "from fracatlas_annot.runtime import memory as m\n"
        "from fracatlas_annot.runtime.parallel import parallel_map\n"
        "def faults(n):\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    for _ in range(n):\n"
        "        a = np.empty(2880 * 2304, dtype=np.uint8); a.fill(1); del a\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
        "def first_and_rest(_):\n"
        "    return faults(1), faults(39)\n"
        "if __name__ == '__main__':\n"
        "    assert m.tune_allocator()\n"
        "    print(*parallel_map(first_and_rest, [0, 1], workers=2, batch_size=1, min_items=0))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120)
    pairs = eval(out.stdout.replace(") (", "), ("))  # noqa: S307 - our own script's tuples
    assert all(first > 0 and rest <= first for first, rest in pairs), pairs
