"""The pre-commit hook (``.pre-commit-hooks.yaml``) through ``pre-commit try-repo``, as a team
that adds it to its own repository would run it.

This checkout's package and hook file are committed into a temporary git repository (CI's
clean clone works the same as a working tree with edits); pre-commit clones that repository,
builds the hook's virtualenv and pip-installs the package with its dependencies from PyPI
(``language: python``: a minute or two, once per test session, ``PRE_COMMIT_HOME`` shared by
both runs). The hook then runs on a git repository holding a copy of ``fixtures/fracatlas-mini``:
it passes on the clean sample and fails once a YOLO line names class 5.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "fracatlas-mini"

pytestmark = pytest.mark.slow

#: What installing the package needs (pyproject's packages and readme) plus the hook file.
HOOK_REPO_PATHS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "fracatlas_annot/", "trainer/")

GIT = ["git", "-c", "user.name=fracatlas-test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _commit_all(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with this checkout's files (tracked, or new and not ignored) that
    installing the package and running the hook need, committed."""
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *HOOK_REPO_PATHS)
    files = sorted({f for f in listed.split("\0") if f and (ROOT / f).is_file()})
    assert ".pre-commit-hooks.yaml" in files and "fracatlas_annot/cli.py" in files
    repo = tmp_path_factory.mktemp("hook-repo")
    for f in files:
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, repo / f)
    _git(repo, "init", "-q")
    _commit_all(repo, "fracatlas-annot at test time")
    return repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(hook_repo: Path, data_repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PRE_COMMIT_HOME")}
    env.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1", PRE_COMMIT_COLOR="never")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "fracatlas-validate", "--all-files", "--verbose"],
        cwd=data_repo, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip


def test_hook_passes_on_the_clean_sample_and_fails_on_a_planted_defect(hook_repo, pre_commit_home, tmp_path) -> None:
    data = tmp_path / "labels-repo"
    shutil.copytree(MINI, data)
    _git(data, "init", "-q")
    _commit_all(data, "the sample")

    clean = _try_repo(hook_repo, data, pre_commit_home)
    out = clean.stdout + clean.stderr
    assert clean.returncode == 0, out
    assert "fracatlas-annot validate" in out and "Passed" in out
    assert "Found 0 errors" in out  # --verbose shows the hook's own output (2 infos on the sample)

    label = sorted((data / "Annotations" / "YOLO").glob("IMG*.txt"), key=lambda p: -p.stat().st_size)[0]
    lines = label.read_text().splitlines()
    lines[0] = "5 " + lines[0].split(" ", 1)[1]  # class 5 of a one-class list
    label.write_text("\n".join(lines) + "\n")
    _commit_all(data, "a label with class 5")

    broken = _try_repo(hook_repo, data, pre_commit_home)
    out = broken.stdout + broken.stderr
    assert broken.returncode == 1, out
    assert "Failed" in out
    assert f"Annotations/YOLO/{label.name}:1: FA009 error" in out  # concise: path:line: code
