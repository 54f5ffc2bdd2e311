"""Every command over the hostile corpus of issue 12 (``fixtures/hostile/build.py``).

Each test id is ``<case>:<command>``. The case is built fresh into the test's temporary folder
(the "world"), the command runs as a subprocess under ``RLIMIT_AS`` / ``RLIMIT_CPU``
(``tests/hostile/harness.py``), and then, whatever the case:

* it ended by itself (not killed by the CPU limit, not blocked) with exit code 0, 1 or 2
  (or the narrower set the command names, e.g. 2 for an output inside the input);
* neither stdout nor stderr holds a ``Traceback``;
* the whole world, inputs and ``outside/`` included, is identical before and after, except
  the command's own output path: nothing in the input changed, nothing was created outside
  the output (a tree hash: path, type, size, content hash; symlinks by target).

Cases that lose or misread objects today add a check of their own: the expected finding, or
the refusal (``convert`` exits 1 naming the lost objects unless ``--allow-lossy``), or the
right value in the output. Which tests fail on the code of today, and how, is listed in
``tests/hostile/KNOWN_FAILING.md``; they are real tests, neither skipped nor xfailed.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pytest

from fixtures.hostile import build as corpus

from .harness import Outcome, dac_is_enforced, restore_permissions, run_cli, tree_diff, tree_state, unsafe_zip_names

OUT = "out/result"
REPORT_OUTS = ("out/report.html", "out/report.json")


@dataclass
class Ctx:
    """A built case during one test: its folder and the paths of its roles (``A``, ``R1`` ...)."""

    dir: Path
    roles: dict[str, str]

    def path(self, role: str) -> Path:
        return self.dir / self.roles[role]

    @property
    def out(self) -> Path:
        return self.dir / OUT


Check = Callable[[Outcome, Ctx], None]


@dataclass
class Cmd:
    """One command of a case: its arguments (``{ROLE}``, ``{OUT}``, ``{CASE}`` filled in), the
    paths it may write (left out of the tree hash), the exit codes allowed and extra checks."""

    id: str
    args: list[str]
    outs: tuple[str, ...] = ()
    expect: frozenset[int] = frozenset({0, 1, 2})
    checks: list[Check] = field(default_factory=list)


# --------------------------------------------------------------------------- command builders


def info(role: str = "A", *extra: str, checks: Sequence[Check] = ()) -> Cmd:
    return Cmd(f"info-{role}" if role != "A" else "info", ["info", "{%s}" % role, "--json", *extra], checks=list(checks))


def validate(role: str = "A", *extra: str, checks: Sequence[Check] = (), id: str | None = None) -> Cmd:
    cid = id or (f"validate-{role}" if role != "A" else "validate")
    return Cmd(cid, ["validate", "{%s}" % role, "--format", "json", "--no-progress", *extra], checks=list(checks))


def convert(to: str, role: str = "A", *extra: str, checks: Sequence[Check] = (), id: str | None = None,
            expect: set[int] | None = None) -> Cmd:  # fmt: skip
    """``convert {role} {OUT} --to TO``; a yolo target of a plain export (no FracAtlas split
    lists) gets ``--split none`` so that the conversion runs instead of stopping at the split."""
    if to.startswith("yolo") and role != "A" and "--split" not in extra:
        extra = (*extra, "--split", "none")
    source = extra[extra.index("--source") + 1] if "--source" in extra else None
    cid = id or "-".join(["convert", to] + ([role] if role != "A" else []) + ([f"from-{source}"] if source else []))
    return Cmd(cid, ["convert", "{%s}" % role, "{OUT}", "--to", to, *extra], outs=(OUT,), checks=list(checks),
               expect=frozenset(expect or {0, 1, 2}))  # fmt: skip


def agree(a: str = "R1", b: str = "R2", *extra: str, checks: Sequence[Check] = (), id: str = "agree") -> Cmd:
    return Cmd(id, ["agree", "{%s}" % a, "{%s}" % b, "--json", "--out", "{OUT}", *extra], outs=(OUT,), checks=list(checks))


def report(role: str = "A", *extra: str, checks: Sequence[Check] = (), id: str = "report") -> Cmd:
    return Cmd(id, ["report", "{%s}" % role, "-o", "{CASE}/out/report.html", "--json", "{CASE}/out/report.json", *extra],
               outs=REPORT_OUTS, checks=list(checks))  # fmt: skip


def refuse(cid: str, args: list[str], outs: tuple[str, ...] = ()) -> Cmd:
    """A command that must refuse (exit 2) and leave everything as it was."""
    return Cmd(cid, args, outs=outs, expect=frozenset({2}))


# --------------------------------------------------------------------------- checks


def mentions(pattern: str, what: str = "the output") -> Check:
    """The combined output matches ``pattern`` (a regex), e.g. names a file that was skipped."""

    def check(o, ctx: Ctx) -> None:
        assert re.search(pattern, o.output), f"{what} should mention /{pattern}/ (it was reported nowhere)"

    check.__name__ = f"mentions({pattern})"
    return check


def finding(pattern: str, severities: tuple[str, ...] = ("error", "warning")) -> Check:
    """``validate --format json`` has a finding of one of ``severities`` whose image, message or
    location matches ``pattern``; when validate refuses the input (exit 2), stderr names it."""

    def check(o, ctx: Ctx) -> None:
        if o.returncode == 2:
            assert re.search(pattern, o.stderr), f"exit 2 without naming /{pattern}/"
            return
        doc = json.loads(o.stdout)
        hits = [f for f in doc["findings"] if f["severity"] in severities
                and re.search(pattern, " ".join(str(f.get(k)) for k in ("image", "message", "location")))]  # fmt: skip
        assert hits, f"no {'/'.join(severities)} finding matches /{pattern}/"

    check.__name__ = f"finding({pattern})"
    return check


def finding_about(where: str, message: str, severities: tuple[str, ...] = ("error", "warning")) -> Check:
    """Like :func:`finding`, but the finding's *message* must also match ``message``: a finding
    that only happens to name the same image (a missing file, a size mismatch) does not count."""

    def check(o, ctx: Ctx) -> None:
        if o.returncode == 2:
            assert re.search(where, o.stderr) and re.search(message, o.stderr), f"exit 2 without naming /{where}/ /{message}/"
            return
        doc = json.loads(o.stdout)
        hits = [f for f in doc["findings"] if f["severity"] in severities and re.search(message, str(f.get("message")))
                and re.search(where, " ".join(str(f.get(k)) for k in ("image", "message", "location")))]  # fmt: skip
        assert hits, f"no {'/'.join(severities)} finding about /{where}/ says /{message}/"

    check.__name__ = f"finding_about({where}, {message})"
    return check


def refused_naming(*patterns: str, codes: tuple[int, ...] = (1,)) -> Check:
    """The command refused (exit in ``codes``) and its output names every pattern: a loss is
    never silent."""

    def check(o, ctx: Ctx) -> None:
        assert o.returncode in codes, f"expected a refusal (exit {codes}) naming {patterns}, got exit {o.returncode}"
        for p in patterns:
            assert re.search(p, o.output), f"the refusal does not name /{p}/"

    check.__name__ = f"refused_naming{patterns}"
    return check


def refused_or(ok: Callable[[Ctx], None], *patterns: str) -> Check:
    """Either a refusal (exit 1) naming ``patterns``, or a written output that passes ``ok``."""

    def check(o, ctx: Ctx) -> None:
        if o.returncode == 0:
            ok(ctx)
            return
        refused_naming(*patterns)(o, ctx)

    check.__name__ = f"refused_or({ok.__name__}, {patterns})"
    return check


def no_raw_control_chars(o, ctx: Ctx) -> None:
    """Names from the input are never echoed with raw escape / control characters."""
    bad = sorted({f"\\x{ord(ch):02x}" for ch in o.output if ord(ch) < 32 and ch not in "\n\t\r"})
    assert not bad, f"raw control characters {bad} echoed to the terminal"


def output_zips_safe(o, ctx: Ctx) -> None:
    if not ctx.out.is_dir():
        return
    bad = unsafe_zip_names(sorted(ctx.out.rglob("*.zip")))
    assert not bad, f"zip entries with unsafe names written: {bad}"


def no_outside_content(o, ctx: Ctx) -> None:
    """The output holds no symlink and nothing with the bytes of ``outside/secret.jpg``."""
    if not ctx.out.is_dir():
        return
    secret = (ctx.dir / "outside/secret.jpg").read_bytes()
    links = [str(p.relative_to(ctx.out)) for p in ctx.out.rglob("*") if p.is_symlink()]
    assert not links, f"symlinks written into the output: {links}"
    copies = [str(p.relative_to(ctx.out)) for p in ctx.out.rglob("*") if p.is_file() and p.stat().st_size == len(secret)
              and p.read_bytes() == secret]  # fmt: skip
    assert not copies, f"a file from outside the input was carried into the output: {copies}"


def no_stale_partial(o, ctx: Ctx) -> None:
    left = sorted(p.name for p in (ctx.dir / "out").iterdir() if p.name.endswith(".partial"))
    assert not left, f"partial folders left in out/: {left}"


def voc_xmin_read_whole(ctx: Ctx) -> None:
    doc = json.loads((ctx.out / "annotations.json").read_text())
    image = next(im for im in doc["images"] if im["file_name"] == "IMG0000023.jpg")
    xs = [a["bbox"][0] for a in doc["annotations"] if a["image_id"] == image["id"]]
    text = (corpus.MINI / corpus.VOC_REL / "IMG0000023.xml").read_text()
    want = float(text.split("<xmin>", 1)[1].split("</xmin>", 1)[0])
    assert xs == [want], f"<xmin> with a comment inside read as {xs}, the value is {want}"


def same_name_not_merged(ctx: Ctx) -> None:
    labels = list(ctx.out.rglob("labels/*/IMG0000023.txt"))
    lines = [ln for p in labels for ln in p.read_text().splitlines() if ln.strip()]
    assert len(lines) == 1, f"IMG0000023 has {len(lines)} objects in its label file: another image id's objects merged in"


def objects_in(n: int) -> Callable[[Ctx], None]:
    """The written output's manifest counts ``n`` objects read (none lost on the way in)."""

    def ok(ctx: Ctx) -> None:
        m = json.loads((ctx.out / "manifest.json").read_text())
        assert m["counts"]["objects_in"] == n, f"objects read: {m['counts']['objects_in']} of {n}"

    ok.__name__ = f"objects_in({n})"
    return ok


def no_none_label(ctx: Ctx) -> None:
    text = (ctx.out / "data.yaml").read_text()
    assert "None" not in text, f"a null category name became a label: {text!r}"


# --------------------------------------------------------------------------- the table

TRAVERSAL = r"PWN|victim|\.\./"
LOSS_30 = r"IMG0000030"
UNSAFE_NAME = r"(?i)path|travers|\.\.|absolute|plain|separator|unsafe|outside"

CASES: dict[str, list[Cmd]] = {
    "csv-name-traversal": [
        info("F"),
        validate("F", checks=[finding_about(TRAVERSAL, UNSAFE_NAME)]),
        *[convert(t, "F", "--allow-lossy", checks=[output_zips_safe], id=f"convert-{t}")
          for t in ("yolo-detect", "yolo-seg", "voc", "coco", "yolo-cls", "makesense")],
    ],
    "dataset-csv-traversal": [
        info(),
        validate(checks=[finding_about(TRAVERSAL, UNSAFE_NAME)]),
        *[convert(t, "A", "--allow-lossy", checks=[output_zips_safe], id=f"convert-{t}")
          for t in ("yolo-detect", "voc", "yolo-cls", "makesense")],
        report(),
    ],
    "symlink-image-outside": [
        info(),
        validate(checks=[finding_about(r"IMG0000019", r"(?i)link|outside")]),
        convert("yolo-detect", checks=[no_outside_content]),
        convert("yolo-cls", checks=[no_outside_content]),
        report(),
    ],
    "symlink-loop-images": [
        info(), validate(), convert("yolo-detect"), report(),
    ],
    "symlink-loop-annotations": [
        info(checks=[mentions(r"IMG9000001")]), validate(), convert("voc", "A", "--source", "voc"),
        convert("yolo-detect", "A", "--source", "yolo"),
    ],
    "symlink-loop-reader": [
        info("R1", checks=[mentions(r"labels_loop_a")]), agree(),
        validate("A", "--readers", "{R1}", "{R2}", "--fast", id="validate-readers"),
    ],
    "output-inside-input": [
        refuse("convert-into-input-annotations", ["convert", "{A}", "{A}/Annotations/YOLO", "--to", "yolo-detect", "--overwrite"]),
        refuse("convert-output-inside-input", ["convert", "{A}", "{A}/converted", "--to", "coco"]),
        refuse("convert-output-is-input", ["convert", "{A}", "{A}", "--to", "voc", "--overwrite"]),
        refuse("convert-output-contains-input", ["convert", "{A}", "{CASE}/in", "--to", "coco", "--overwrite"]),
        refuse("report-onto-dataset-csv", ["report", "{A}", "-o", "{A}/dataset.csv", "--fast"]),
        refuse("report-json-onto-input", ["report", "{A}", "-o", "{CASE}/out/report.html", "--fast",
                                          "--json", "{A}/Annotations/COCO JSON/COCO_fracture_masks.json"],
               outs=("out/report.html",)),
    ],
    "agree-output-inside-input": [
        refuse("agree-out-contains-input", ["agree", "{XC}", "{R2}", "--out", "{X}", "--consensus", "union"]),
        refuse("agree-out-is-reader", ["agree", "{R1}", "{R2}", "--out", "{R1}"]),
        refuse("agree-out-inside-reader", ["agree", "{R1}", "{R2}", "--out", "{R1}/adjudication"]),
    ],
    "stale-partial": [
        Cmd("convert-yolo-detect", ["convert", "{A}", "{OUT}", "--to", "yolo-detect"], outs=("out",),
            expect=frozenset({0}), checks=[no_stale_partial]),
    ],
    "yaml-alias-bomb": [info("U"), info("Y"), convert("coco", "Y")],
    "json-bigint": [info("F"), validate("F", checks=[finding(r"(?i)digit|integer|too (long|large|big)")]), convert("yolo-seg", "F")],
    "coco-nonfinite-vertices": [
        info("F"),
        validate("F", checks=[finding(r"IMG0000023"), finding(r"IMG0000026"), finding(r"IMG0000036")]),
        convert("voc", "F", checks=[refused_naming(r"IMG0000023", r"IMG0000026", r"IMG0000036")]),
        convert("yolo-seg", "F", checks=[refused_naming(r"IMG0000023", r"IMG0000026", r"IMG0000036")]),
        agree(),
        validate("A", "--readers", "{R1}", "{R2}", "--fast", id="validate-readers"),
        report("A", "--readers", "{R1}", "{R2}", "--fast", id="report-readers"),
    ],
    "png-bomb": [info(), validate(checks=[finding(r"IMG9000001")]), convert("voc"), convert("yolo-detect"), report()],
    "jpeg-huge-declared": [info(), validate(checks=[finding(r"IMG9000001")]), convert("voc"), report()],
    "unreadable-folder": [
        info(checks=[mentions(r"Non_fractured|YOLO|IMG0000030\.xml")]),
        validate(checks=[finding_about(r"Non_fractured|YOLO|IMG0000030", r"(?i)permission|denied|cannot|unreadable|not read")]),
        convert("yolo-detect", "A", "--source", "coco"),
        report("A", "--fast"),
    ],
    "control-chars-names": [
        Cmd("info", ["info", "{A}"], checks=[no_raw_control_chars]),
        Cmd("validate", ["validate", "{A}", "--fast", "--limit", "0"], checks=[no_raw_control_chars]),
        convert("voc"), convert("yolo-detect"), convert("coco"), convert("makesense", checks=[output_zips_safe]),
    ],
    "yaml-names-mapping": [info("U"), validate("U"), convert("coco", "U"), info("Y"), convert("coco", "Y")],
    "yaml-names-nested": [info("U"), validate("U"), convert("coco", "U"), info("Y"), convert("coco", "Y")],
    "split-list-not-utf8": [
        info(), validate(checks=[finding(r"train\.csv")]), convert("yolo-detect"), convert("yolo-cls"),
        info("U"), validate("U", checks=[finding(r"train\.txt")]), convert("coco", "U"),
    ],
    "convert-bad-options": [
        *[Cmd(f"ratios-{r}", ["convert", "{A}", "{OUT}", "--to", "yolo-detect", "--split", "stratified", "--ratios", r],
              outs=(OUT,), expect=frozenset({2}))
          for r in ("a,b,c", "nan,nan,nan", "0,0,0", "-1,1,1", "1e999,0,0", "1,1")],
        Cmd("seed--1", ["convert", "{A}", "{OUT}", "--to", "yolo-detect", "--split", "stratified", "--seed", "-1"],
            outs=(OUT,), expect=frozenset({0, 2})),
    ],
    "zip-total-over-memory": [info("F"), validate("F", "--fast"), convert("coco", "F")],
    "fifo-annotation": [info(), validate("A", "--fast"), convert("voc", "A", "--source", "voc")],
    "voc-many-objects": [info("F"), convert("coco", "F")],
    "agree-many-polygons": [
        Cmd("agree", ["agree", "{F1}", "{F2}", "--json", "--iou", "0.5", "--geometry", "mask"]),
    ],
    "voc-comment-in-value": [
        convert("coco", "A", "--source", "voc", checks=[refused_or(voc_xmin_read_whole, r"IMG0000023")]),
    ],
    "voc-unsafe-xml": [
        validate(checks=[finding(r"IMG0000023")]),
        convert("yolo-detect", "A", "--source", "voc", checks=[refused_naming(r"IMG0000023")]),
    ],
    "yolo-bad-byte": [
        validate(checks=[finding(LOSS_30)]),
        convert("yolo-detect", "A", "--source", "yolo", checks=[refused_naming(LOSS_30)]),
    ],
    "voc-truncated": [
        validate(checks=[finding(LOSS_30)]),
        convert("yolo-detect", "A", "--source", "voc", checks=[refused_naming(LOSS_30)]),
    ],
    "coco-orphan-annotation": [
        validate(checks=[finding(r"777|annotations\[13\]")]),
        convert("yolo-seg", "A", "--source", "coco", checks=[refused_naming(r"777|annotations\[13\]")]),
    ],
    "json-duplicate-keys": [
        validate(checks=[finding_about(r"annotations", r"(?i)duplicate|twice|again|repeated")]),
        convert("yolo-seg", "A", "--source", "coco", checks=[refused_naming(r"annotations", codes=(1, 2))]),
    ],
    "coco-same-file-name": [
        validate(checks=[finding(r"IMG0000023")]),
        convert("yolo-detect", "A", "--source", "coco", checks=[refused_or(same_name_not_merged, r"IMG0000023")]),
    ],
    "mixed-folder": [
        info("M", checks=[mentions(r"IMG0000030\.txt|IMG0000047\.txt")]),
        info("Z", checks=[mentions(r"IMG0000030\.txt|IMG0000047\.txt")]),
        convert("coco", "M", checks=[refused_or(objects_in(13), r"IMG0000030|IMG0000047")]),
    ],
    "zip-in-zip": [info("F", checks=[mentions(r"more_labels\.zip")]), validate("F", checks=[finding(r"more_labels")])],
    "voc-nested-object": [
        info(checks=[mentions(r"IMG0000030\.xml")]),
        convert("coco", "A", "--source", "voc", checks=[refused_or(objects_in(13), LOSS_30)]),
    ],
    "coco-duplicate-category-id": [
        validate(checks=[finding_about(r".", r"(?i)categor")]),
        convert("yolo-seg", "A", "--source", "coco"),
    ],
    "coco-null-category-name": [
        validate(checks=[finding_about(r".", r"(?i)categor")]),
        convert("yolo-seg", "A", "--source", "coco", checks=[refused_or(no_none_label, r"categor|name")]),
    ],
    "yolo-class-1e19": [
        validate(checks=[finding(LOSS_30)]),
        convert("yolo-detect", "A", "--source", "yolo", checks=[refused_naming(LOSS_30)]),
    ],
}

assert set(CASES) == set(corpus.CASES), f"cases without commands: {set(corpus.CASES) ^ set(CASES)}"
PARAMS = [pytest.param(cid, cmd, id=f"{cid}:{cmd.id}") for cid, cmds in CASES.items() for cmd in cmds]
assert len({p.id for p in PARAMS}) == len(PARAMS), "duplicate test ids"


def _fill(arg: str, case_dir: Path, roles: dict[str, str]) -> str:
    for role, rel in roles.items():
        arg = arg.replace("{%s}" % role, str(case_dir / rel))
    return arg.replace("{OUT}", str(case_dir / OUT)).replace("{CASE}", str(case_dir))


@pytest.mark.parametrize(("case_id", "cmd"), PARAMS)
def test_hostile_case(tmp_path: Path, case_id: str, cmd: Cmd) -> None:
    info_ = corpus.build(case_id, tmp_path)
    case_dir = tmp_path / case_id
    (case_dir / "out").mkdir(exist_ok=True)
    ctx = Ctx(case_dir, info_["roles"])
    args = [_fill(a, case_dir, ctx.roles) for a in cmd.args]
    if case_id == "unreadable-folder" and not dac_is_enforced(ctx.path("A") / "Annotations/YOLO"):
        warnings.warn("running as root without the right to drop CAP_DAC_OVERRIDE: chmod 000 does not stop reads "
                      "here, so this case only checks the general invariants", stacklevel=1)  # fmt: skip
    exclude = [case_dir / o for o in cmd.outs]
    before = tree_state(tmp_path, exclude=exclude)
    try:
        o = run_cli(args, cwd=case_dir)
        after = tree_state(tmp_path, exclude=exclude)
    finally:
        if case_id == "unreadable-folder":
            restore_permissions(tmp_path)
    context = f"{' '.join(cmd.args)}\n{o.describe()}\n{o.tail()}"
    assert o.how == "exit", f"did not end by itself ({o.how}): {context}"
    assert "Traceback" not in o.output, f"a traceback was printed: {context}"
    assert o.returncode in cmd.expect, f"exit {o.returncode}, expected one of {sorted(cmd.expect)}: {context}"
    diff = tree_diff(before, after)
    assert not diff, "changed outside the output (inputs, outside/, stray files):\n" + "\n".join(diff) + "\n" + context
    for check in cmd.checks:
        try:
            check(o, ctx)
        except AssertionError as exc:
            raise AssertionError(f"{getattr(check, '__name__', check)}: {exc}\n{context}") from None
