"""Did-you-mean hints for unknown names (formats, sources, labels, rule selectors)."""

from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word`` (difflib ratio >= ``cutoff``), or None."""
    hit = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return hit[0] if hit else None


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6, quote: str = "'") -> str:
    """``"; did you mean 'x'?"`` for a close match, else ``''``; ``quote`` wraps the match
    (a backtick in rule messages, which quote names as code)."""
    hit = closest(word, choices, cutoff=cutoff)
    return f"; did you mean {quote}{hit}{quote}?" if hit else ""
