"""The Dask backend against local processes: the same bytes out.

One module-scoped cluster is started as a user would start one: ``dask scheduler`` and two
``dask worker ... --nworkers 1 --nthreads 1`` processes on 127.0.0.1, importing this
checkout's package (PYTHONPATH). ``validate`` (full: the pixel scan runs on the workers),
``report`` and ``convert`` of ``fixtures/fracatlas-mini`` run once locally and once with
``--scheduler``, and their JSON output and written files must be identical (timestamps and
output folders normalised as ``tests/snapshot/make_snapshot.py`` does). A second test runs
the pixel scan on a ``LocalCluster`` of two worker processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "fracatlas-mini"
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-thread workers (processes)."""
    work = tmp_path_factory.mktemp("dask")
    env = _env()
    exe = Path(sys.executable).with_name("dask")
    dask = [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    logs = []

    def start(args: list[str], name: str) -> None:
        log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - closed at teardown
        logs.append(log)
        procs.append(subprocess.Popen(dask + args, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        for k in range(2):
            start(
                ["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--local-directory", str(work / f"w{k}")],
                f"worker{k}",
            )  # fmt: skip
        wait = _py(
            "import sys, distributed\n"
            "with distributed.Client(sys.argv[1], timeout=120, set_as_default=False) as c:\n"
            "    c.wait_for_workers(2, timeout=120)\n",
            address,
        )
        assert wait.returncode == 0, wait.stderr[-3000:]
        yield address
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _py(code: str, *args: str) -> subprocess.CompletedProcess:
    """Python in a process of its own: a Dask client leaves a thread behind in the process that
    used it, and ``default_workers`` then stays in one process (it never forks beside a thread),
    which would change other tests run after these in the same pytest worker."""
    return subprocess.run([sys.executable, "-c", code, *args], env=_env(), capture_output=True, text=True, timeout=600, check=False)


def _run(argv: list[str]) -> tuple[int, str]:
    """The CLI, as a user runs it: exit code and stdout."""
    p = _py("import sys; from fracatlas_annot.cli import main; sys.exit(main(sys.argv[1:]))", *argv)
    return p.returncode, p.stdout


def _norm(text: str, *dirs: Path) -> str:
    text = _TIME.sub("<TIME>", text)
    for d in dirs:
        for p in {str(d), str(d.resolve())}:
            text = text.replace(p, "<OUT>")
    return text


def _files(folder: Path) -> dict[str, str]:
    """Every file's text (normalised), or its digest; a report's timings are left out."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            if f.name == "x.json":  # the report's JSON: all but how long each stage took
                doc = json.loads(data)
                assert set(doc["report"].pop("seconds")) >= {"validate", "plots"}
                data = json.dumps(doc, indent=1).encode()
            try:
                out[f.relative_to(folder).as_posix()] = _norm(data.decode("utf-8"), folder)
            except UnicodeDecodeError:
                out[f.relative_to(folder).as_posix()] = "sha256:" + hashlib.sha256(data).hexdigest()
    return out


_COUNT_BATCHES = """
import sys, distributed
def count(dask_scheduler):  # state_counts: every transition so far, forgotten tasks included
    tp = dask_scheduler.task_prefixes.get("fracatlas_batch")
    return tp.state_counts["memory"] if tp is not None else 0
with distributed.Client(sys.argv[1], timeout=10, set_as_default=False) as c:
    print(c.run_on_scheduler(count))
"""


def _batches_run(address: str) -> int:
    """Batch tasks the cluster has finished so far."""
    p = _py(_COUNT_BATCHES, address)
    assert p.returncode == 0, p.stderr
    return int(p.stdout.strip())


def test_validate_report_convert_on_a_cluster_match_local(scheduler, tmp_path):
    mini = str(MINI)
    local_v = _run(["validate", mini, "--format", "json", "--no-progress"])
    before = _batches_run(scheduler)
    dask_v = _run(["validate", mini, "--format", "json", "--no-progress", "--scheduler", scheduler])
    after_validate = _batches_run(scheduler)
    assert after_validate > before, "validate --scheduler ran no batch on the cluster"
    assert dask_v[0] == local_v[0]
    assert _norm(dask_v[1]) == _norm(local_v[1])

    outs = {}
    for name, extra in (("local", []), ("dask", ["--scheduler", scheduler])):
        d = tmp_path / name
        d.mkdir()
        code, _ = _run(["report", mini, "-o", str(d / "x.html"), "--json", str(d / "x.json"), *extra])
        conv = tmp_path / f"conv-{name}"
        ccode, cout = _run(["convert", mini, str(conv), "--to", "yolo-seg", "--source", "coco", "--json", *extra])
        outs[name] = (code, _files(d), ccode, _norm(cout, conv), _files(conv))
    assert _batches_run(scheduler) > after_validate, "report/convert --scheduler ran no batch on the cluster"
    local, dask = outs["local"], outs["dask"]
    assert dask[0] == local[0]
    assert set(dask[1]) == {"x.html", "x.json"}
    assert dask[1] == local[1]
    assert dask[2] == local[2] == 0
    assert dask[3] == local[3]
    assert dask[4] == local[4]
    assert any(k.endswith(".txt") for k in local[4])


def test_missing_scheduler_exits_2():
    code, _ = _run(["validate", str(MINI), "--fast", "--no-progress", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert code == 2


_LOCAL_CLUSTER_SCAN = """
import json, sys
from distributed import Client, LocalCluster
from fracatlas_annot.imaging.decode import scan
from fracatlas_annot.runtime.dask_backend import DaskBackend
from fracatlas_annot.runtime.parallel import use_backend


def _touch(item):
    import os
    folder, x = item
    open(os.path.join(folder, str(x)), "w").close()
    return x


if __name__ == "__main__":
    paths = json.loads(sys.argv[1])
    local = scan(paths, workers=1, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster, set_as_default=False) as client:
            with use_backend(DaskBackend(client)):
                remote = scan(paths, progress=False)
            ran = client.run_on_scheduler(
                lambda dask_scheduler: dask_scheduler.task_prefixes["fracatlas_batch"].state_counts["memory"]
            )
            workers = len(client.nthreads())
            # a started map keeps the cluster busy past its first window while nobody reads it
            import os, tempfile, time
            from fracatlas_annot.runtime.parallel import parallel_map_start
            marks = tempfile.mkdtemp()
            with use_backend(DaskBackend(client)):
                started = parallel_map_start(_touch, [(marks, i) for i in range(200)], batch_size=2)  # 100 batches, window 8
                for _ in range(600):
                    if len(os.listdir(marks)) >= 200:
                        break
                    time.sleep(0.1)
                unread_done = len(os.listdir(marks))
                started_ok = started.result() == list(range(200))
    print(json.dumps({
        "batches": ran, "workers": workers, "rows": len(remote),
        "same_index": list(remote.index) == list(local.index), "equal": bool(remote.equals(local)),
        "decoded": int(remote["pixel_hash"].notna().sum()),
        "unread_done": unread_done, "started_ok": started_ok,
    }))
"""


def test_pixel_scan_on_a_local_cluster_matches_local_scan(tmp_path):
    paths = sorted(str(p) for p in MINI.rglob("*.jpg"))
    assert len(paths) >= 10
    script = tmp_path / "scan_on_cluster.py"  # a file: LocalCluster's processes re-import __main__
    script.write_text(_LOCAL_CLUSTER_SCAN)
    p = subprocess.run([sys.executable, str(script), json.dumps(paths)], env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["workers"] == 2
    assert out["batches"] >= 2  # cut into batches for the cluster's two threads
    assert out["rows"] == len(paths) and out["decoded"] == len(paths)
    assert out["same_index"] and out["equal"]
    assert out["unread_done"] == 200 and out["started_ok"]  # all 100 batches ran before the result was read
