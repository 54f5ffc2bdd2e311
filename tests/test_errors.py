"""Errors and exit codes: every error class lives in errors.py, and no command exits with a
code other than 0, 1, 2 (or 130 when interrupted)."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from fracatlas_annot import errors
from fracatlas_annot.cli import app, main
from fracatlas_annot.commands._common import handle_errors
from fracatlas_annot.formats import detect, read
from fracatlas_annot.formats import ultralytics

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fracatlas_annot"
MINI = ROOT / "fixtures/fracatlas-mini"


def _exception_classes_outside_errors() -> list[str]:
    """Classes deriving from an exception (by a base name ending in Error / Exception, or a
    class errors.py defines) anywhere in the package but errors.py."""
    ours = {n for n in dir(errors) if isinstance(getattr(errors, n), type)}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                if any(b.endswith(("Error", "Exception")) or b in ours for b in bases):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}({', '.join(bases)})")
    return found


def test_every_error_class_is_defined_in_errors_py() -> None:
    assert _exception_classes_outside_errors() == []


def test_every_error_class_has_an_allowed_exit_code() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert {c.__name__ for c in classes} >= {"UnknownFormat", "HeaderError", "UnknownSourceError", "InputError"}
    for cls in classes:
        assert issubclass(cls, errors.FracatlasError) and cls.exit_code in (1, 2), cls


def test_detection_raises_the_library_error(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("nothing to read here")
    with pytest.raises(errors.UnknownFormat, match="holds no annotation file") as info:
        detect(tmp_path)
    assert info.value.exit_code == 2
    with pytest.raises(errors.InputError, match="holds no annotation file"):
        read(tmp_path)


def test_ultralytics_reader_without_data_yaml_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="needs a data.yaml") as info:
        ultralytics.read(tmp_path)
    assert info.value.path == tmp_path and not isinstance(info.value, FileNotFoundError)


def test_unexpected_exception_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        with handle_errors(verbose=False):
            raise RuntimeError("boom\nsecond line")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["internal error: RuntimeError: boom second line (run with -v for the traceback)"]
    with pytest.raises(SystemExit) as exit_info:
        with handle_errors(verbose=True):
            raise RuntimeError("boom")
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" in err and "internal error: RuntimeError: boom" in err


def test_library_error_message_is_printed_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        with handle_errors():
            raise errors.UsageError("label [fractured] is unknown")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: label [fractured] is unknown"


def test_a_command_failing_inside_the_library_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import fracatlas_annot.formats as formats

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("width")

    monkeypatch.setattr(formats, "read", broken)
    assert main(["info", str(MINI)]) == 2
    assert "internal error: KeyError: 'width' (run with -v" in capsys.readouterr().err


@pytest.mark.parametrize(
    "action, code, message",
    [
        pytest.param("raise", 2, "internal error: ValueError: while printing", id="exception-outside-handle-errors"),
        pytest.param("exit3", 2, "", id="exit-3-becomes-2"),
        pytest.param("exit1", 1, "", id="exit-1-kept"),
    ],
)
def test_main_never_returns_another_code(
    action: str, code: int, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @click.command("boom")
    def boom() -> None:
        if action == "raise":
            raise ValueError("while printing")
        raise SystemExit({"exit3": 3, "exit1": 1}[action])

    monkeypatch.setitem(app.commands, "boom", boom)
    assert main(["boom"]) == code
    assert message in capsys.readouterr().err


def test_unknown_source_is_a_usage_error_and_still_a_key_error() -> None:
    ds = read(MINI)
    with pytest.raises(KeyError):
        ds.source("cocoo")
    with pytest.raises(errors.UnknownSourceError) as info:
        ds.source("cocoo")
    assert info.value.exit_code == 2
    assert str(info.value) == "no source named 'cocoo' (have: coco, voc, yolo, vgg); did you mean 'coco'?"
