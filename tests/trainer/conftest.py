"""Trainer tests: a private Ultralytics config folder, the learnable archive and its
converted sets (built once per session with our convert)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.trainer._e2e import make_archive, write_sets


@pytest.fixture(scope="session", autouse=True)
def yolo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tmp_path_factory.mktemp("yolo-config")
    os.environ["FRACATLAS_YOLO_CONFIG_DIR"] = str(cfg)
    from trainer import offline

    return offline.setup(cfg)


@pytest.fixture(scope="session")
def learnable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 40-image learnable archive (96 px)."""
    return make_archive(tmp_path_factory.mktemp("learnable"))


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 12-image, 64 px archive converted to yolo-detect and yolo-seg (for CLI tests)."""
    work = tmp_path_factory.mktemp("tiny")
    root = make_archive(work, n_images=12, size=64, seed=3)
    return {"archive": root, "detect": write_sets(root, work, "detect", "ok"), "segment": write_sets(root, work, "segment", "ok")}
