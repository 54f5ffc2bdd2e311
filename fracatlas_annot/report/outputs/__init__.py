"""``validate --output-format``: the findings of the public JSON document
(``fracatlas-annot/validate/1``, :func:`fracatlas_annot.validate.to_json`) in the formats
that terminals, editors and CI systems read. Ruff's ``--output-format`` is the model.

=============  ==================================================================
``text``       findings grouped by rule, wrapped to the terminal (the default)
``concise``    one line per finding: ``path:line: FA105 error IMG.jpg [coco]: message``
``json``       the JSON document itself
``json-lines`` one finding object per line
``github``     GitHub Actions workflow commands (``::error file=...,line=...::``)
``gitlab``     GitLab Code Quality report (JSON list, stable fingerprints)
``sarif``      SARIF 2.1.0 log (GitHub code scanning and other SARIF viewers)
``junit``      JUnit XML: one test case per rule that ran, a failure per finding
=============  ==================================================================

Every renderer reads only the document (plus the rule registry for help texts) and
places findings with paths relative to the working directory::

    from fracatlas_annot.validate import validate_with_dataset, to_json
    from fracatlas_annot.report.outputs import render
    ds, findings = validate_with_dataset("fixtures/defects", fast=True)
    print(render(to_json(findings, ds), "sarif"))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .ci import github, gitlab
from .junit import junit
from .sarif import sarif
from .text import concise, text_lines

#: ``--output-format`` choices, in the order ``--help`` lists them.
OUTPUT_FORMATS: tuple[str, ...] = ("text", "concise", "json", "json-lines", "github", "gitlab", "sarif", "junit")


def _json(doc: dict[str, Any], *, cwd: Any = None) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _json_lines(doc: dict[str, Any], *, cwd: Any = None) -> str:
    return "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in doc.get("findings") or [])


def _text(doc: dict[str, Any], *, cwd: Any = None) -> str:
    return "".join(line.plain + "\n" for line in text_lines(doc, width=80, cwd=cwd))


RENDERERS: dict[str, Callable[..., str]] = {
    "text": _text,
    "concise": concise,
    "json": _json,
    "json-lines": _json_lines,
    "github": github,
    "gitlab": gitlab,
    "sarif": sarif,
    "junit": junit,
}


def render(doc: dict[str, Any], output_format: str, *, cwd: Any = None) -> str:
    """The document in ``output_format`` (one of :data:`OUTPUT_FORMATS`) as text.

    ``cwd`` is the folder paths are made relative to (default: the working directory).
    ``text`` here is plain and 80 columns wide; the CLI prints it coloured at the
    terminal's width (:func:`~.text.text_lines`). Raises ``ValueError`` for an unknown format.
    """
    try:
        renderer = RENDERERS[output_format]
    except KeyError:
        raise ValueError(f"unknown output format {output_format!r} (one of {', '.join(OUTPUT_FORMATS)})") from None
    return renderer(doc, cwd=cwd)


__all__ = ["OUTPUT_FORMATS", "RENDERERS", "render", "text_lines"]
