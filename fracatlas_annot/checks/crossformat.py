"""crossformat rules (FA family)."""

from __future__ import annotations
