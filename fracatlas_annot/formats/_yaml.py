"""YAML from the input (a dataset's ``data.yaml``): bounded, and read without alias expansion.

A 445-byte YAML with nested anchors and aliases expands to hundreds of millions of strings
(a "billion laughs"); 20,000 nested brackets exhaust the recursion limit. :func:`load_yaml`
refuses both before they cost anything: no alias (``*name``) is ever resolved, nodes deeper
than :data:`MAX_DEPTH` and files over :data:`MAX_BYTES` are refused, each as a ``parse-error``
problem with the file and line. A dataset yaml never needs any of them.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..model import Problem

__all__ = ["MAX_BYTES", "MAX_DEPTH", "load_yaml"]

#: A dataset yaml is a few hundred bytes; a class list of 10^4 names stays far below this.
MAX_BYTES = 4 * 2**20
#: Nesting of a dataset yaml: a mapping of lists or mappings of scalars (depth 3).
MAX_DEPTH = 32


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases (no expansion at all) and nodes nested too deep."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"an alias (*{event.anchor}) is not allowed here: aliases are never expanded", event.start_mark
            )
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, *, file: str) -> tuple[Any, list[Problem]]:
    """``(document, [])``, or ``(None, [problem])`` for text that is too big, not YAML, uses an
    alias or nests too deep. Never raises for any input text."""
    if len(text) > MAX_BYTES:
        return None, [Problem("parse-error", f"YAML file over {MAX_BYTES // 2**20} MiB; not read", file=file)]
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data(), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or exc
        return None, [Problem("parse-error", f"YAML not read: {what}", file=file, line=mark.line + 1 if mark else None)]
    except RecursionError:  # the scanner/parser of a pathological document
        return None, [Problem("parse-error", "YAML nested too deep; not read", file=file)]
    finally:
        loader.dispose()
