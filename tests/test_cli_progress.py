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


def test_no_progress_hides_the_bar_of_every_command(monkeypatch, fixtures_dir, tmp_path) -> None:
    """``--no-progress`` on info, validate, convert, report and agree: not one bar drawn, even
    where FRACATLAS_PROGRESS=1 would force one; without it the same runs of validate, convert
    and report draw bars (info and agree on 40 images may have nothing long to show)."""
    buf = io.StringIO()
    monkeypatch.setattr(_common, "err_console", Console(file=buf, force_terminal=True, width=100))
    monkeypatch.setenv("FRACATLAS_PROGRESS", "1")
    mini = str(fixtures_dir / "fracatlas-mini")
    readers = [str(fixtures_dir / "readers" / f"reader-{i}") for i in (1, 2)]
    runs = [["info", mini], ["validate", mini], ["convert", mini, "--to", "yolo-detect", str(tmp_path / "{}")],
            ["report", mini, "-o", str(tmp_path / "{}.html")], ["agree", *readers]]
    for i, args in enumerate(runs):
        args = [a.replace("{}", f"{i}") for a in args]
        for hidden in (True, False):
            buf.seek(0)
            buf.truncate()
            with contextlib.redirect_stdout(io.StringIO()):
                code = cli.main([*args, *(["--no-progress"] if hidden else []), "--workers", "1"][: None if args[0] != "agree" else -2])
            assert code in (0, 1), args
            if hidden:
                assert buf.getvalue() == "", (args, buf.getvalue()[:200])
            elif args[0] in ("validate", "convert", "report"):  # these decode or link every image
                assert buf.getvalue() != "", args
            if args[0] == "convert":
                args[-1] += "b"
            if args[0] == "report":
                args[-1] += ".2.html"
