"""Run one ``fracatlas-annot`` command as a subprocess under resource limits, and hash trees.

* :func:`run_cli` starts ``python -m fracatlas_annot`` (or the ``cli.entrypoint`` when the package
  has no ``__main__``) with this worktree first on ``PYTHONPATH``, under ``RLIMIT_AS`` and
  ``RLIMIT_CPU`` (set in ``preexec_fn``), with core dumps off. Running as root, it also drops
  ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH`` from the child's capability bounding set, so
  that ``chmod 000`` stops the command as it stops any user. A process that sits blocked
  without using CPU (a read on a FIFO: ``RLIMIT_CPU`` never fires) is killed after
  :data:`IDLE_S` seconds without CPU progress; that is a hang detector, not a timing assert.
* :func:`tree_state` describes every entry under a folder (path, type, size, content hash;
  symlinks by their target; FIFOs never opened) so that two states can be compared with
  :func:`tree_diff`.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[2]

MEMORY_LIMIT = 2 * 2**30  # RLIMIT_AS: a normal run on the fixtures peaks under 1 GiB of address space
CPU_LIMIT = 30  # RLIMIT_CPU seconds: a normal run on the fixtures takes 1-5 s of CPU
FILE_LIMIT = 2 * 2**30  # RLIMIT_FSIZE: no output of a corpus case is anywhere near this
IDLE_S = 30.0  # seconds without CPU progress of the whole process group: blocked
WALL_BACKSTOP_S = 600.0  # last resort if CPU keeps advancing under RLIMIT_CPU across many children

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def command_prefix() -> list[str]:
    """How to start the CLI of this worktree's package."""
    if (ROOT / "fracatlas_annot" / "__main__.py").is_file():
        return [sys.executable, "-m", "fracatlas_annot"]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'fracatlas-annot'; "
            "from fracatlas_annot.cli import entrypoint; entrypoint()"]  # fmt: skip


def _drop_dac_caps() -> bool:
    """Drop the capabilities that let root read anything; True when done (or not root)."""
    if os.geteuid() != 0:
        return True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return all(libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH))


def _limits(cpu: int, memory: int) -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    _drop_dac_caps()


def dac_is_enforced(folder: Path) -> bool:
    """Whether a child started like :func:`run_cli` is refused a ``chmod 000`` folder."""
    probe = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.listdir(sys.argv[1])", str(folder)],
        preexec_fn=lambda: _limits(CPU_LIMIT, MEMORY_LIMIT), capture_output=True, timeout=60,
    )  # fmt: skip
    return probe.returncode != 0


@dataclass
class Outcome:
    """What one command did."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    how: str  # "exit", "cpu-limit" (SIGXCPU), "killed-blocked", "killed-wall", "signal <n>"
    cpu_s: float = 0.0
    maxrss_mib: float = 0.0  # peak RSS of the main process, sampled every 0.25 s
    notes: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def describe(self) -> str:
        """One line: how it ended, exit code, CPU and peak memory."""
        code = "-" if self.returncode is None else str(self.returncode)
        return f"{self.how}, exit {code}, {self.cpu_s:.1f} s CPU, {self.maxrss_mib:.0f} MiB peak RSS"

    def tail(self, n: int = 1500) -> str:
        return f"--- stdout (tail) ---\n{self.stdout[-n:]}\n--- stderr (tail) ---\n{self.stderr[-n:]}"


def _group_cpu_ticks(sid: int) -> int:
    """utime + stime (clock ticks) of every live process in session ``sid``."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        rest = raw[raw.rfind(b")") + 2:].split()
        # fields after the name: state ppid pgrp session ... utime(14th overall) stime(15th)
        if int(rest[3]) == sid:
            total += int(rest[11]) + int(rest[12])
    return total


def _peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a live process, in KiB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    cpu: int = CPU_LIMIT,
    memory: int = MEMORY_LIMIT,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run ``fracatlas-annot ARGS`` in ``cwd`` under the limits; never raises for what it did."""
    argv = command_prefix() + [str(a) for a in args]
    scratch = Path(tempfile.mkdtemp(prefix="hostile-run-"))
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "FRACATLAS_PROGRESS": "0",
        "NO_COLOR": "1",
        "COLUMNS": "240",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / "mpl"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **(env or {}),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_f, err_f = open(scratch / "stdout", "w+b"), open(scratch / "stderr", "w+b")
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f,
            start_new_session=True, preexec_fn=lambda: _limits(cpu, memory),
        )  # fmt: skip
        how = "exit"
        last_ticks, last_change, start = -1, time.monotonic(), time.monotonic()
        peak_kib = 0
        while proc.poll() is None:
            time.sleep(0.25)
            now = time.monotonic()
            ticks = _group_cpu_ticks(proc.pid)
            peak_kib = max(peak_kib, _peak_rss_kib(proc.pid))
            if ticks != last_ticks:
                last_ticks, last_change = ticks, now
            if now - last_change > IDLE_S:
                how = "killed-blocked"
            elif now - start > WALL_BACKSTOP_S:
                how = "killed-wall"
            if how != "exit":
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                break
        try:  # workers left behind in the session
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = proc.returncode
        if how == "exit" and rc is not None and rc < 0:
            how = "cpu-limit" if -rc == signal.SIGXCPU else f"signal {signal.Signals(-rc).name}"
        out_f.seek(0)
        err_f.seek(0)
        return Outcome(
            argv=list(args), returncode=rc,
            stdout=out_f.read().decode("utf-8", "replace"), stderr=err_f.read().decode("utf-8", "replace"),
            how=how, cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            maxrss_mib=peak_kib / 1024,
        )  # fmt: skip
    finally:
        out_f.close()
        err_f.close()
        for p in sorted(scratch.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        scratch.rmdir()


# --------------------------------------------------------------------------- tree hashes


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest()


def tree_state(root: Path, *, exclude: Iterable[Path] = ()) -> dict[str, tuple]:
    """``{relative path: description}`` for every entry under ``root`` (itself excluded).

    Regular files: ``("file", size, sha256)``; folders ``("dir",)``; symlinks
    ``("link", target)`` (never followed); FIFOs, sockets, devices by type only (never opened).
    Entries at or under an ``exclude`` path are left out. Modes and times are not compared.
    """
    skip = {os.path.abspath(p) for p in exclude}
    out: dict[str, tuple] = {}

    def walk(folder: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out[os.path.relpath(folder, root) + "/<unlistable>"] = ("error", type(exc).__name__)
            return
        for e in entries:
            if os.path.abspath(e.path) in skip:
                continue
            rel = os.path.relpath(e.path, root)
            st = os.lstat(e.path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(e.path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
                walk(e.path)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, _file_digest(e.path))
            elif stat.S_ISFIFO(st.st_mode):
                out[rel] = ("fifo",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))

    walk(os.fspath(root))
    return out


def tree_diff(before: dict[str, tuple], after: dict[str, tuple], *, limit: int = 20) -> list[str]:
    """Human-readable differences: created, removed and changed entries."""
    lines = [f"created {k} {after[k][0]}" for k in sorted(after.keys() - before.keys())]
    lines += [f"removed {k} {before[k][0]}" for k in sorted(before.keys() - after.keys())]
    lines += [f"changed {k}: {before[k][:2]} -> {after[k][:2]}" for k in sorted(before.keys() & after.keys())
              if before[k] != after[k]]  # fmt: skip
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def restore_permissions(root: Path) -> None:
    """Make every folder and file under ``root`` readable again (after a ``chmod 000`` case)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)


def unsafe_zip_names(paths: Sequence[Path]) -> list[str]:
    """Entry names of the zips at ``paths`` that are absolute, climb with ``..`` or hold a NUL/control character."""
    import zipfile

    bad = []
    for p in paths:
        with zipfile.ZipFile(p) as zf:
            for name in zf.namelist():
                parts = name.replace("\\", "/").split("/")
                if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":") or any(
                        ord(ch) < 32 for ch in name):  # fmt: skip
                    bad.append(f"{p.name}!{name}")
    return bad
