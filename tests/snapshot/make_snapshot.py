"""Record what the commands print and write on every fixture, as a snapshot to compare against.

    python tests/snapshot/make_snapshot.py            # rewrite tests/snapshot/outputs.json
    python tests/snapshot/make_snapshot.py --check    # compare, print the differences, exit 1 on any

The snapshot holds, for each case, the exit code and the normalised stdout of ``info --json`` and
``validate --format json`` (full text), and for ``convert`` every written file: text files in full,
binary files (images, zips) as a SHA-256. Paths that depend on where the repository or the temporary
output lives are replaced by ``<ROOT>`` and ``<OUT>``. A behaviour change that is meant (a bug fix)
is recorded by running this script again and committing the new snapshot with the fix.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import sys
import zipfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("outputs.json")
FIX = ROOT / "fixtures"

os.environ.setdefault("FRACATLAS_PROGRESS", "0")
os.environ.setdefault("NO_COLOR", "1")
os.environ.setdefault("FRACATLAS_WORKERS", "1")

READ_CASES = {
    "mini": "fixtures/fracatlas-mini",
    "v7": "fixtures/fracatlas-v7",
    "defects": "fixtures/defects",
    "reader-1": "fixtures/readers/reader-1",
    "reader-2": "fixtures/readers/reader-2",
}

CONVERT_CASES = {
    "mini-yolo-detect-voc": ["fixtures/fracatlas-mini", "--to", "yolo-detect", "--source", "voc"],
    "mini-yolo-seg-coco": ["fixtures/fracatlas-mini", "--to", "yolo-seg", "--source", "coco"],
    "mini-coco": ["fixtures/fracatlas-mini", "--to", "coco"],
    "mini-voc": ["fixtures/fracatlas-mini", "--to", "voc"],
    "mini-yolo-cls": ["fixtures/fracatlas-mini", "--to", "yolo-cls"],
    "mini-makesense": ["fixtures/fracatlas-mini", "--to", "makesense", "--source", "coco"],
    "mini-detect-stratified": ["fixtures/fracatlas-mini", "--to", "yolo-detect", "--source", "yolo",
                               "--split", "stratified", "--ratios", "0.8,0.1,0.1", "--seed", "1"],
    "v7-yolo-seg": ["fixtures/fracatlas-v7", "--to", "yolo-seg", "--source", "coco"],
    "reader-1-coco-to-yolo-seg": ["fixtures/readers/reader-1", "--to", "yolo-seg", "--source", "coco",
                                  "--split", "none", "--allow-lossy"],
    "reader-2-voc": ["fixtures/readers/reader-2", "--to", "voc", "--allow-lossy"],
}


def _run(argv: list[str]) -> tuple[int, str]:
    from fracatlas_annot.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
    return code, out.getvalue()


_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")


def _norm(text: str, out: Path | None = None) -> str:
    text = _TIME.sub("<TIME>", text)
    if out is not None:
        for p in {str(out), str(out.resolve())}:
            text = text.replace(p, "<OUT>")
    for p in {str(ROOT), str(ROOT.resolve())}:
        text = text.replace(p, "<ROOT>")
    return text


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def collect() -> dict:
    snap: dict = {}
    for name, path in READ_CASES.items():
        code, out = _run(["info", path, "--json"])
        snap[f"info/{name}"] = {"exit": code, "stdout": _norm(out)}
        code, out = _run(["validate", path, "--format", "json"])
        snap[f"validate/{name}"] = {"exit": code, "stdout": _norm(out)}
    for name, argv in CONVERT_CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = Path(tmp) / "out"
            code, stdout = _run(["convert", argv[0], str(out_dir), *argv[1:], "--json"])
            files: dict[str, str] = {}
            if out_dir.is_dir():
                for f in sorted(out_dir.rglob("*")):
                    if not f.is_file():
                        continue
                    data = f.read_bytes()
                    rel = f.relative_to(out_dir).as_posix()
                    if f.suffix == ".zip":
                        with zipfile.ZipFile(f) as zf:
                            for info in zf.infolist():
                                entry = zf.read(info)
                                files[f"{rel}!{info.filename}"] = (
                                    _norm(entry.decode("utf-8"), out_dir) if _is_text(entry)
                                    else "sha256:" + hashlib.sha256(entry).hexdigest())
                    elif _is_text(data):
                        files[rel] = _norm(data.decode("utf-8"), out_dir)
                    else:
                        files[rel] = "sha256:" + hashlib.sha256(data).hexdigest()
            snap[f"convert/{name}"] = {"exit": code, "stdout": _norm(stdout, out_dir), "files": files}
    return snap


def diff(old: dict, new: dict) -> list[str]:
    import difflib

    lines: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            lines.append(f"{key}: only in {'new' if key in new else 'snapshot'}")
            continue
        a, b = old[key], new[key]
        if a["exit"] != b["exit"]:
            lines.append(f"{key}: exit {a['exit']} -> {b['exit']}")
        if a["stdout"] != b["stdout"]:
            lines.append(f"{key}: stdout differs")
            lines.extend(difflib.unified_diff(a["stdout"].splitlines(), b["stdout"].splitlines(), lineterm="", n=1))
        fa, fb = a.get("files", {}), b.get("files", {})
        for rel in sorted(set(fa) | set(fb)):
            if fa.get(rel) != fb.get(rel):
                lines.append(f"{key}: file {rel} differs")
                if rel in fa and rel in fb and not fa[rel].startswith("sha256:"):
                    lines.extend(ln[:300] for ln in difflib.unified_diff(fa[rel].splitlines(), fb[rel].splitlines(), lineterm="", n=1))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored snapshot instead of writing it")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    new = collect()
    if args.check:
        problems = diff(json.loads(SNAPSHOT.read_text(encoding="utf-8")), new)
        print("\n".join(problems) if problems else "snapshot: identical")
        return 1 if problems else 0
    SNAPSHOT.write_text(json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT} ({len(new)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
