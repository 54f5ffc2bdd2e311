"""``--device auto``: the GPU when there is one, the CPU otherwise."""

from __future__ import annotations


def resolve_device(device: str | int | None = "auto") -> str:
    """Return the Ultralytics device string for ``device``.

    ``"auto"`` (or None) gives ``"0"`` (first CUDA GPU) when ``torch.cuda.is_available()``,
    else ``"cpu"``. Anything else (``"cpu"``, ``"0"``, ``"0,1"``, ``"mps"``) is passed through;
    ``"cuda"`` means ``"0"``.
    """
    text = "auto" if device is None else str(device).strip().lower()
    if text == "auto":
        import torch

        return "0" if torch.cuda.is_available() else "cpu"
    if text == "cuda":
        return "0"
    if text.startswith("cuda:"):
        return text.split(":", 1)[1]
    return text
