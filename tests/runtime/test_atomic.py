"""Atomic file and folder writes: all or nothing, unpredictable temporary names, no leftovers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fracatlas_annot.errors import OutputExistsError, UsageError
from fracatlas_annot.runtime import atomic
from fracatlas_annot.runtime.atomic import (
    atomic_directory,
    check_not_input,
    check_target,
    link_or_copy,
    write_bytes_atomic,
    write_text_atomic,
)


class _Boom(Exception):
    pass


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"  # missing folders are made
    write_text_atomic(target, "é first")
    write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # like open(), not mkstemp's 0600


def test_a_failed_write_leaves_the_target_untouched(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def failing_replace(src, dst):
        raise _Boom("disk full")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(_Boom):
        write_bytes_atomic(target, b"new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # the temporary file is gone


def test_temporary_names_are_unpredictable(tmp_path: Path, monkeypatch) -> None:
    seen: list[str] = []
    real = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    for _ in range(3):
        write_bytes_atomic(tmp_path / "f.txt", b"x")
    assert len(set(seen)) == 3 and all(n.startswith(".f.txt.") and n.endswith(".tmp") for n in seen)
    # a file planted at a guessable name is neither followed nor clobbered
    planted = tmp_path / ".f.txt.tmp"
    planted.write_text("planted")
    write_bytes_atomic(tmp_path / "f.txt", b"y")
    assert planted.read_text() == "planted" and (tmp_path / "f.txt").read_bytes() == b"y"


def test_atomic_directory_success_and_failure(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.") and not target.exists()
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    with pytest.raises(_Boom):
        with atomic_directory(target, overwrite=True) as tmp:
            (tmp / "b.txt").write_text("2")
            raise _Boom
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial folder left
    with atomic_directory(target, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the old content is gone too


def test_check_target_refusals(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError, match="not empty"):
        check_target(tmp_path / "full", overwrite=False)
    check_target(tmp_path / "full", overwrite=True)
    with pytest.raises(OutputExistsError, match="is a file"):
        check_target(tmp_path / "file", overwrite=True)
    with pytest.raises(UsageError, match="contains the input"):
        check_target(tmp_path, overwrite=True, protected=[tmp_path / "full" / "x"])
    check_target(tmp_path / "new", overwrite=False)


def test_check_not_input_refuses_every_way_into_an_input(tmp_path: Path) -> None:
    """Issue 12: an output that is, contains or lies inside an input is refused, symlinks resolved."""
    data = tmp_path / "in" / "A"
    (data / "Annotations" / "YOLO").mkdir(parents=True)
    (data / "dataset.csv").write_text("image_id\n")
    export = tmp_path / "in" / "labels.json"
    export.write_text("{}")
    (tmp_path / "link").symlink_to(data)
    cases = {
        data: "is the input",
        tmp_path / "in": "contains the input",
        data / "Annotations" / "YOLO": "lies inside the input",
        data / "new" / "deeper": "lies inside the input",
        tmp_path / "link" / "Annotations": "lies inside the input",
        export: "is the input",
    }
    for target, says in cases.items():
        with pytest.raises(UsageError, match=says):
            check_not_input(target, [data, export])
        with pytest.raises(UsageError, match=says):
            check_target(target, overwrite=True, protected=[data, export])
    # a file output: never onto an input file, but a new file inside an input folder is allowed
    with pytest.raises(UsageError, match="replace a file of the input"):
        check_not_input(data / "dataset.csv", [data], folder=False)
    check_not_input(data / "report.html", [data], folder=False)
    # beside the input, or inside the folder of an input *file*: allowed
    check_not_input(tmp_path / "out", [data, export])
    check_not_input(tmp_path / "in" / "out", [export])


def test_link_or_copy(tmp_path: Path) -> None:
    src = tmp_path / "a.jpg"
    src.write_bytes(b"jpeg")
    assert link_or_copy(src, tmp_path / "b.jpg") is True
    assert os.path.samefile(src, tmp_path / "b.jpg")


def test_stale_partials_of_a_killed_run_are_removed_live_ones_kept(tmp_path: Path) -> None:
    """Issue 12: a killed convert leaves ``.out.<pid>_<random>.partial/``; the next run removes
    it (and one without a pid), keeps a running process's own, and touches no other name."""
    import subprocess

    from fracatlas_annot.runtime.atomic import remove_stale_partials

    child = subprocess.Popen(["sleep", "30"])
    try:
        gone = subprocess.Popen(["true"])
        gone.wait()
        names = [f".out.{gone.pid}_abc.partial", ".out.k1ll3d_.partial", f".out.{child.pid}_live.partial",
                 ".other.1_x.partial", ".out.keep", "out.1_x.partial"]  # fmt: skip
        for n in names:
            (tmp_path / n / "labels").mkdir(parents=True)
        assert sorted(remove_stale_partials(tmp_path / "out")) == sorted(names[:2])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
        with atomic_directory(tmp_path / "out") as tmp:
            assert tmp.name.startswith(f".out.{os.getpid()}_") and tmp.name.endswith(".partial")
            (tmp / "x").write_text("x")
        assert (tmp_path / f".out.{child.pid}_live.partial").is_dir() and (tmp_path / "out" / "x").is_file()
    finally:
        child.kill()
        child.wait()
