"""The narrow seam between the trainer and Ultralytics.

* :func:`ultralytics_session` runs a block with the offline environment in place, with
  Ultralytics' label ``*.cache`` files neither read nor written (they would land in the
  dataset folder, which is input, and a stale one hides the label warnings), and with every
  line Ultralytics logs captured, so that :mod:`trainer.smoke` can look for label warnings.
* :data:`LABEL_WARNINGS`: the messages that mean Ultralytics dropped or changed labels.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import offline

#: Ultralytics messages that mean labels were dropped or altered while loading.
LABEL_WARNINGS: tuple[str, ...] = (
    "ignoring corrupt",
    "Box and segment counts should be equal",
    "duplicate labels removed",
    "No labels found",
    "Labels are missing or empty",
    "non-normalized or out of bounds coordinates",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class LogCapture:
    """Lines Ultralytics logged inside :func:`ultralytics_session`."""

    lines: list[str] = field(default_factory=list)

    def label_warnings(self) -> list[str]:
        """The captured lines that report dropped or altered labels."""
        return [line for line in self.lines if any(w.lower() in line.lower() for w in LABEL_WARNINGS)]


class _Handler(logging.Handler):
    def __init__(self, capture: LogCapture) -> None:
        super().__init__(level=logging.DEBUG)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = _ANSI.sub("", record.getMessage())
        except Exception:  # noqa: BLE001 - a bad log record must not break training
            return
        self.capture.lines.extend(text.splitlines())


@contextlib.contextmanager
def ultralytics_session(*, config_dir: str | os.PathLike[str] | None = None, amp_check: bool = False) -> Iterator[LogCapture]:
    """Offline Ultralytics with label caches off and its log captured.

    ``amp_check=False`` replaces Ultralytics' AMP self-test (which downloads a checkpoint
    into the working directory) with "AMP allowed"; it only matters on a GPU.
    """
    offline.setup(config_dir)
    import ultralytics.data.dataset as ds
    import ultralytics.engine.trainer as tr
    from ultralytics.utils import LOGGER

    capture = LogCapture()
    handler = _Handler(capture)
    saved = (ds.load_dataset_cache_file, ds.save_dataset_cache_file, tr.check_amp)

    def _no_cache_load(path: Path) -> dict:
        raise FileNotFoundError(path)

    def _no_cache_save(prefix: str, path: Path, x: dict, version: str) -> None:
        x["version"] = version  # what the real one adds before writing

    ds.load_dataset_cache_file = _no_cache_load
    ds.save_dataset_cache_file = _no_cache_save
    if not amp_check:
        tr.check_amp = lambda model: True
    LOGGER.addHandler(handler)
    # Ultralytics' own handler holds the sys.stdout of import time; make it follow the
    # current one, so that a caller's redirect_stdout (the CLI's --json) also moves the log.
    streams = [(h, h.stream) for h in LOGGER.handlers if type(h) is logging.StreamHandler]
    for h, _ in streams:
        h.setStream(sys.stdout)
    try:
        yield capture
    finally:
        for h, stream in streams:
            h.setStream(stream)
        LOGGER.removeHandler(handler)
        ds.load_dataset_cache_file, ds.save_dataset_cache_file, tr.check_amp = saved
