"""The findings of ``fixtures/defects`` as the public JSON document, computed once, and the
check every output format must pass: each finding placed on a real file of the fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fracatlas_annot.validate import to_json, validate_with_dataset

ROOT = Path(__file__).resolve().parents[3]
DEFECTS = ROOT / "fixtures" / "defects"


@pytest.fixture(scope="session")
def defects_doc() -> dict[str, Any]:
    """Every rule (pixel rules too) on the defects fixture, read by its absolute path."""
    ds, findings = validate_with_dataset(DEFECTS, progress=False)
    return to_json(findings, ds)


def expected_place(finding: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """(code, the file the output's path must end with, line), from the finding's JSON fields:
    a zip entry's artifact is the zip, and its line belongs to the entry, not the zip."""
    file, line = finding["file"], finding["line"]
    if file is None:
        return finding["code"], None, None
    if ".zip!" in file:
        return finding["code"], file.split("!", 1)[0], None
    return finding["code"], file, line


def assert_places(doc: dict[str, Any], got: list[tuple[str, str | None, int | None]], *, cwd: Path = ROOT) -> None:
    """``got`` (code, path, line) per finding, in the document's order within each code:
    every path is relative, POSIX, ends with the finding's file and exists under ``cwd``;
    every line is the finding's and exists in that file."""
    expected = [expected_place(f) for f in doc["findings"]]
    assert sorted(c for c, _, _ in got) == sorted(c for c, _, _ in expected)
    for code in sorted({c for c, _, _ in expected}):
        exp = [e for e in expected if e[0] == code]
        out = [g for g in got if g[0] == code]
        for (_, efile, eline), (_, path, line) in zip(exp, out):
            assert line == eline, (code, path, line, eline)
            if efile is None:
                assert path is None, (code, path)
                continue
            assert path is not None and not Path(path).is_absolute() and "\\" not in path, path
            assert ".." not in Path(path).parts, path
            if Path(efile).is_absolute():  # an image found under the absolute dataset path
                assert (cwd / path).resolve() == Path(efile).resolve(), (path, efile)
            else:
                assert path.endswith(Path(efile).as_posix()), (path, efile)
            assert (cwd / path).exists(), path
            if line is not None:
                assert line <= len((cwd / path).read_bytes().splitlines()), (path, line)
