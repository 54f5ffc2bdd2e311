"""The CLI draws the library's progress reports: the rich reporter is installed around every
command, FRACATLAS_PROGRESS forces or hides it, and the library stays silent on its own."""

from __future__ import annotations

import contextlib
import io

from rich.console import Console

from fracatlas_annot import cli
from fracatlas_annot.commands import _common


def test_every_command_installs_the_reporter(monkeypatch, fixtures_dir) -> None:
    seen: list[tuple[str, int | None]] = []

    @contextlib.contextmanager
    def spy(description, total):
        seen.append((description, total))
        yield lambda n=1: None

    monkeypatch.setattr(cli, "rich_progress", spy)
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["validate", str(fixtures_dir / "fracatlas-mini"), "--format", "json"])
    assert code in (0, 1)
    assert ("decoding images", 40) in seen  # the pixel scan of validate, reported through the CLI
    # outside a command nothing is installed: the library is silent
    from fracatlas_annot.imaging.decode import scan

    seen.clear()
    scan(sorted(str(p) for p in (fixtures_dir / "fracatlas-mini").glob("images/*/*.jpg"))[:2])
    assert seen == []


def test_the_bar_obeys_fracatlas_progress(monkeypatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(_common, "err_console", Console(file=buf, force_terminal=True, width=100))
    monkeypatch.setenv("FRACATLAS_PROGRESS", "0")
    with _common.rich_progress("hidden work", 3) as advance:
        advance(3)
    assert buf.getvalue() == ""
    monkeypatch.delenv("FRACATLAS_PROGRESS")
    with _common.rich_progress("linking images", 3) as advance:
        advance(1)
        advance(2)
    assert "linking images" in buf.getvalue()
