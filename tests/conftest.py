"""Shared test setup: repo root on sys.path (for `fixtures`), offline guards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "fixtures"

os.environ.setdefault("FRACATLAS_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
