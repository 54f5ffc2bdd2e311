"""A training run makes no network access and writes nothing to $HOME, the working
directory or site-packages: a fresh interpreter (so that Ultralytics is imported under
these conditions), every socket connection and DNS lookup refused, HOME, cwd and TMPDIR
pointed at empty folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

GUARDED_RUN = r"""
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[1:3]))
    raise OSError("network access refused by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from fracatlas_annot.cli import main
code = main(sys.argv[1:])
sys.stderr.write("GUARD " + json.dumps({"code": code, "attempts": attempts}) + "\n")
"""


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


def test_training_is_offline_and_writes_only_its_folders(tiny: dict[str, Path], tmp_path: Path) -> None:
    home, cwd, tmpdir, out = (tmp_path / n for n in ("home", "cwd", "tmpdir", "out"))
    for d in (home, cwd, tmpdir):
        d.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("YOLO_", "XDG_", "FRACATLAS_YOLO", "MPLCONFIGDIR", "TORCH_HOME", "PYTEST_"))}
    env.update(HOME=str(home), TMPDIR=str(tmpdir), PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))  # this checkout, as the tests import it
    site = Path(sysconfig.get_paths()["purelib"])
    before = _snapshot(site)
    proc = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN, "train", str(tiny["segment"]), "--task", "segment", "--model", "yolov8n",
         "--epochs", "1", "--imgsz", "64", "--batch", "4", "--device", "auto", "--out", str(out), "--json"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )
    guard = [line for line in proc.stderr.splitlines() if line.startswith("GUARD ")]
    assert guard, proc.stderr[-3000:]
    result = json.loads(guard[-1][len("GUARD "):])
    assert result == {"code": 0, "attempts": []}, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert Path(doc["weights"]).is_file() and Path(doc["run_dir"]).parent == out
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == []
    # the only thing in the temp dir is the Ultralytics config folder the trainer owns
    (config,) = tmpdir.iterdir()
    assert config.name.startswith("fracatlas-annot-yolo-")
    assert (config / "Ultralytics" / "settings.json").is_file() and (config / "Ultralytics" / "Arial.ttf").is_file()
    assert _snapshot(site) == before
    # the dataset (input) got no Ultralytics *.cache file
    assert not list(tiny["segment"].parent.rglob("*.cache"))
