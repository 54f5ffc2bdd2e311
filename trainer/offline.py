"""Ultralytics, fully offline, writing only where we say.

Ultralytics reads its environment once, at import: ``YOLO_OFFLINE`` (no DNS probe, no
downloads of fonts or weights for plots and AMP checks), ``YOLO_AUTOINSTALL`` (no pip runs)
and ``YOLO_CONFIG_DIR`` (where ``settings.json`` goes; by default ``~/.config``). Its label
plots ask for ``Arial.ttf`` and download it when missing, so matplotlib's DejaVuSans is
copied under that name into the config folder. :func:`setup` must therefore run before the
first ``import ultralytics``; every function of :mod:`trainer` calls it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

#: Environment variable naming the config folder the trainer owns (default: a folder in the
#: system temp dir, private to the user).
CONFIG_ENV = "FRACATLAS_YOLO_CONFIG_DIR"

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def default_config_dir() -> Path:
    """The config folder used when neither ``FRACATLAS_YOLO_CONFIG_DIR`` nor a caller names one."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(tempfile.gettempdir()) / f"fracatlas-annot-yolo-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def setup(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """Prepare the offline environment and return the Ultralytics config folder.

    Sets ``YOLO_OFFLINE=1``, ``YOLO_AUTOINSTALL=0``, ``YOLO_CONFIG_DIR`` (and
    ``MPLCONFIGDIR``, ``TORCHINDUCTOR_CACHE_DIR`` and ``TRITON_CACHE_DIR`` when unset, so
    that matplotlib's and torch's caches do not land in ``$HOME`` or ``$TMPDIR``),
    and places the fonts Ultralytics would otherwise download. Idempotent. When
    ``ultralytics`` is already imported, the folder it chose is returned and the fonts are
    placed there.
    """
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    if "ultralytics" in sys.modules:
        # already imported (it read its settings then); the variables are set again all the
        # same, for the subprocesses it starts and for code that reads them at call time
        from ultralytics.utils import USER_CONFIG_DIR  # type: ignore[import-not-found]

        _place_fonts(Path(USER_CONFIG_DIR))
        _pin_settings(Path(USER_CONFIG_DIR))
        return Path(USER_CONFIG_DIR).parent
    root = Path(config_dir).expanduser().resolve() if config_dir is not None else default_config_dir()
    root.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(root)
    os.environ.setdefault("YOLO_VERBOSE", "True")
    # torch's compile caches default to $TMPDIR/torchinductor_<user> and ~/.triton
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(root / "torchinductor"))
    os.environ.setdefault("TRITON_CACHE_DIR", str(root / "triton"))
    if "MPLCONFIGDIR" not in os.environ and "matplotlib" not in sys.modules:
        (root / "matplotlib").mkdir(exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(root / "matplotlib")
    _place_fonts(root / "Ultralytics")
    import ultralytics  # noqa: F401  (reads the environment set above)
    from ultralytics.utils import USER_CONFIG_DIR

    _pin_settings(Path(USER_CONFIG_DIR))
    return root


def _place_fonts(folder: Path) -> None:
    """Copy matplotlib's DejaVuSans to ``Arial.ttf`` / ``Arial.Unicode.ttf`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in _FONT_NAMES if not (folder / name).is_file()]
    if not missing:
        return
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in missing:
        tmp = folder / f".{name}.tmp"
        shutil.copyfile(font, tmp)
        os.replace(tmp, folder / name)


def _pin_settings(user_config_dir: Path) -> None:
    """Point Ultralytics' default folders into the config folder and turn analytics off.

    Without this, a call that forgets ``project=`` writes ``runs/`` into the working
    directory, and any weights lookup would use ``./weights``.
    """
    from ultralytics.utils import SETTINGS  # type: ignore[import-not-found]

    wanted = {
        "sync": False,
        "runs_dir": str(user_config_dir / "runs"),
        "weights_dir": str(user_config_dir / "weights"),
        "datasets_dir": str(user_config_dir / "datasets"),
    }
    if any(SETTINGS.get(k) != v for k, v in wanted.items()):
        SETTINGS.update(wanted)
