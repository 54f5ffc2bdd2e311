"""The rule registry: stable codes, kebab-case names, severities and documentation.

A rule is a function ``check(ctx: CheckContext) -> pd.DataFrame | list[dict]`` declared with
:func:`rule`. Its docstring is its documentation, in ruff's fixed sections::

    @rule("FA101", "polygon-too-few-vertices", Severity.ERROR)
    def polygon_too_few_vertices(ctx):
        '''Polygon with fewer than 3 distinct vertices.

        ## What it does
        ...
        ## Why is this bad?
        ...
        ## Example
        ...
        '''

The first docstring line is the summary; the rest is the explanation shown by
``fracatlas-annot rules CODE``. Codes are never reused: a renamed code goes in
:data:`REDIRECTS`. The family comes from the code's first digit (:data:`FAMILIES`).

Findings are rows of a DataFrame with :data:`FINDING_COLUMNS`; a rule returns only the
columns it knows (``image``, ``source``, ``object``, ``message``, ``file``, ``line``, ``loc``,
``related``) and :func:`run_rules` fills in ``code``, ``name`` and ``severity``. ``related``
names every member image of a group finding (duplicates) as a tuple; ``()`` elsewhere.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..runtime.memory import release
from ..runtime.suggest import did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Dataset


class Severity(str, enum.Enum):
    """How bad a finding is. ``error`` fails ``validate`` (exit 1); ``warning`` fails with ``--strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class RuleStatus(str, enum.Enum):
    """Stable rules run by default; preview rules only when selected by their full code."""

    STABLE = "stable"
    PREVIEW = "preview"
    REMOVED = "removed"

    def __str__(self) -> str:
        return self.value


#: Columns of a findings table, in order.
FINDING_COLUMNS: list[str] = [
    "code",
    "name",
    "severity",
    "image",
    "source",
    "object",
    "message",
    "file",
    "line",
    "loc",
    "related",
]

#: Columns a rule may return (the rest are filled from the rule).
RULE_RESULT_COLUMNS: list[str] = ["image", "source", "object", "message", "file", "line", "loc", "related"]

_SECTIONS = ("## What it does", "## Why is this bad?", "## Example")
_CODE_RE = re.compile(r"^FA\d{3}$")
_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


CheckFunc = Callable[["CheckContext"], "pd.DataFrame | list[dict[str, Any]]"]


@dataclass(frozen=True)
class Family:
    """A family of rules: every code starting with ``prefix`` belongs to it."""

    prefix: str  # "FA1"
    name: str  # "geometry": the ``family`` of ``rules --json``
    module: str  # the module of fracatlas_annot.checks that declares the family's rules
    title: str  # what the family checks, as the README's list of families names it
    #: Judges the final labels only: these rules compare sources with each other or with
    #: ``dataset.csv``, and a single reader's export (``meta["reader"]``) legitimately
    #: differs from both; the FA8 family judges that.
    final_labels_only: bool = False


#: The one table of rule families, in code order.
FAMILIES: tuple[Family, ...] = (
    Family("FA0", "structure", "structure", "reading and structure"),
    Family("FA1", "geometry", "geometry", "geometry"),
    Family("FA2", "box-vs-polygon", "boxpoly", "box vs polygon", final_labels_only=True),
    Family("FA3", "cross-format", "crossformat", "cross-format", final_labels_only=True),
    Family("FA4", "metadata", "metadata", "dataset.csv", final_labels_only=True),
    Family("FA5", "images", "images", "images"),
    Family("FA6", "duplicates", "duplicates", "duplicates"),
    Family("FA7", "splits", "splits", "splits"),
    Family("FA8", "readers", "readers", "two readers"),
)


def family_of(code: str) -> Family:
    """The family of a rule code (``FA105`` -> geometry); ValueError for a code outside the table."""
    for fam in FAMILIES:
        if code.startswith(fam.prefix):
            return fam
    raise ValueError(f"rule code {code!r} is in no family (prefixes: {', '.join(f.prefix for f in FAMILIES)})")


@dataclass(frozen=True)
class Rule:
    """One entry of the catalogue."""

    code: str
    name: str
    severity: Severity
    family: str
    summary: str
    explanation: str
    func: CheckFunc
    status: RuleStatus = RuleStatus.STABLE
    needs_pixels: bool = False  # skipped by --fast
    reads_scan: bool = False  # reads CheckContext.pixel_scan (unless --fast): run last, the scan started first
    #: The :attr:`CheckContext.cache` entries the rule reads, by name (the part of a key before
    #: ``:``); :func:`run_rules` drops each after the last rule that names it
    caches: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``rules --json`` object of this rule."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "family": self.family,
            "summary": self.summary,
            "explanation": self.explanation,
            "status": str(self.status),
            "needs_pixels": self.needs_pixels,
        }


#: code -> Rule, filled at import time by :func:`rule`.
RULES: dict[str, Rule] = {}

#: Old code -> new code (codes are never reused).
REDIRECTS: dict[str, str] = {}


def rule(
    code: str,
    name: str,
    severity: Severity | str,
    *,
    status: RuleStatus | str = RuleStatus.STABLE,
    needs_pixels: bool = False,
    reads_scan: bool | None = None,
    caches: Sequence[str] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as rule ``code``; the docstring is its documentation and the code's
    first digit its family (:data:`FAMILIES`). ``reads_scan`` (default: ``needs_pixels``)
    marks a rule that reads :attr:`CheckContext.pixel_scan` or
    :attr:`CheckContext.duplicate_groups`: :func:`run_rules` starts the scan before the
    other rules and runs this one after them. ``caches`` names the context cache entries
    the rule reads (:attr:`Rule.caches`)."""

    def decorate(func: CheckFunc) -> CheckFunc:
        if not _CODE_RE.match(code):
            raise ValueError(f"rule code must match FA + 3 digits, got {code!r}")
        family = family_of(code).name
        if not _NAME_RE.match(name):
            raise ValueError(f"rule name must be kebab-case, got {name!r}")
        if code in RULES and RULES[code].func is not func:
            raise ValueError(f"rule code {code} registered twice ({RULES[code].name} and {name})")
        doc = inspect.cleandoc(func.__doc__ or "")
        summary, _, rest = doc.partition("\n")
        RULES[code] = Rule(
            code=code,
            name=name,
            severity=Severity(severity),
            family=family,
            summary=summary.strip(),
            explanation=rest.strip(),
            func=func,
            status=RuleStatus(status),
            needs_pixels=needs_pixels,
            reads_scan=needs_pixels if reads_scan is None else reads_scan,
            caches=tuple(caches),
        )
        func.rule_code = code  # type: ignore[attr-defined]
        return func

    return decorate


def missing_sections(r: Rule) -> list[str]:
    """Docstring headings the rule's explanation lacks (the registry test wants none)."""
    return [s for s in _SECTIONS if s not in r.explanation]


def rule_by_name_or_code(key: str) -> Rule:
    """Look a rule up by code (``FA101``), redirected code, or kebab-case name."""
    key_u = key.strip().upper()
    key_u = REDIRECTS.get(key_u, key_u)
    if key_u in RULES:
        return RULES[key_u]
    for r in RULES.values():
        if r.name == key.strip().lower():
            return r
    raise UsageError(f"unknown rule `{key}`{_hint(key_u, list(RULES) + [r.name for r in RULES.values()])}")


# --------------------------------------------------------------------------- selection


def _hint(word: str, choices: list[str]) -> str:
    return did_you_mean(word, choices, cutoff=0.5, quote="`")


def _check_selector(sel: str, option: str) -> str:
    s = sel.strip().upper()
    s = REDIRECTS.get(s, s)
    if s in ("ALL",):
        return "FA"
    if not s.startswith("FA") or not any(code.startswith(s) for code in RULES):
        # also accept kebab-case names
        for r in RULES.values():
            if r.name == sel.strip().lower():
                return r.code
        families = sorted({c[:3] for c in RULES})
        raise UsageError(
            f"unknown rule selector `{sel}` in {option}{_hint(s, sorted(RULES) + families)}"
            f" (see `fracatlas-annot rules`)"
        )
    return s


def _split(selectors: Iterable[str] | str | None) -> list[str]:
    if selectors is None:
        return []
    if isinstance(selectors, str):
        selectors = [selectors]
    out: list[str] = []
    for s in selectors:
        out.extend(p for p in re.split(r"[,\s]+", s) if p)
    return out


def select_rules(
    select: Iterable[str] | str | None = None,
    ignore: Iterable[str] | str | None = None,
    *,
    include_removed: bool = False,
) -> list[Rule]:
    """Resolve ``--select`` / ``--ignore`` prefixes into the rules to run, in code order.

    Selectors are code prefixes (``FA``, ``FA2``, ``FA20``, ``FA201``), ``ALL``, or rule names.
    As in ruff, they are applied from least to most specific, and at each specificity
    ``ignore`` comes after ``select``: ``select FA1, ignore FA101`` drops FA101, while
    ``select FA101, ignore FA1`` keeps it. ``select`` defaults to every stable rule.
    Preview rules run only when selected by their full code. An unknown selector raises
    :class:`~fracatlas_annot.errors.UsageError`.
    """
    sel = [_check_selector(s, "--select") for s in _split(select)] or ["FA"]
    ign = [_check_selector(s, "--ignore") for s in _split(ignore)]
    steps = [(len(s), 0, s) for s in sel] + [(len(s), 1, s) for s in ign]
    steps.sort(key=lambda t: (t[0], t[1]))
    enabled: dict[str, bool] = {}
    for _, is_ignore, prefix in steps:
        for code, r in RULES.items():
            if not code.startswith(prefix):
                continue
            if not is_ignore and r.status is RuleStatus.PREVIEW and prefix != code:
                continue
            enabled[code] = not is_ignore
    out = []
    for code in sorted(RULES):
        r = RULES[code]
        if not enabled.get(code):
            continue
        if r.status is RuleStatus.REMOVED and not include_removed:
            continue
        out.append(r)
    return out


# --------------------------------------------------------------------------- context


class PixelFacts(Protocol):
    """What only the image files' bytes and pixels tell, supplied to :class:`CheckContext`
    by whoever builds it (:data:`fracatlas_annot.validate.IMAGING_FACTS` computes them with
    :mod:`fracatlas_annot.imaging`): the rules never import the decoder. Both are called
    lazily, once per context, and only by the rules that need them."""

    def scan(self, paths: list[str], *, keys: list[str], progress: bool) -> pd.DataFrame:
        """One row per path, indexed by ``keys``: ``pixel_hash``, ``phash``, ``thumb``,
        ``error``, ``truncated``, ``width``, ``height`` (see ``imaging.decode.scan``)."""
        ...

    def duplicate_groups(
        self,
        keys: Sequence[str],
        paths: Sequence[Any],
        sizes: Sequence[Any],
        *,
        pixels: bool,
        progress: bool,
        scan_result: pd.DataFrame | None,
        threshold: int,
    ) -> pd.DataFrame:
        """Rows ``image, group, kind`` (see ``imaging.duplicates.duplicate_groups``)."""
        ...

    # Optional: ``start_scan(paths, *, keys, progress)`` returning an object with
    # ``result()`` (the :meth:`scan` frame) and ``close()``: the scan started early, so that
    # the workers decode while the other rules run (:meth:`CheckContext.start_pixel_scan`).


@dataclass
class CheckContext:
    """What a rule sees: the dataset, options, and shared data computed once, lazily.

    Attributes
    ----------
    dataset: the :class:`~fracatlas_annot.model.Dataset` being checked.
    fast: skip pixel-level work (decoding, hashing image contents).
    progress: show progress bars for pixel work.
    border_tolerance_px: how far (pixels) a coordinate may lie outside the image before
        it is reported (covers float noise such as FracAtlas's 1.0000000000000002).
    border_tolerance_norm: the same for normalised coordinates (makesense's old 5e-7).
    rounding_tolerance_norm: what writing normalised numbers with 4 decimals (pylabel's
        FracAtlas YOLO files, ``%.4f``) can add to a box edge, ``cx + w/2``: 0.5e-4 + 0.25e-4.
    iou_threshold: a matched pair below this IoU (and more than 2 px off) is reported (FA202, FA302).
    reader_iou_threshold: two readers' matched objects below this IoU are a low-overlap
        disagreement (FA802); independent of ``iou_threshold``, which compares formats.
    area_rel_tolerance: relative tolerance of COCO ``area`` against the polygon area.
    bbox_tolerance_px: tolerance of COCO ``bbox`` against the polygon's extent.
    phash_threshold: Hamming distance (of 64 bits) at or under which two images are near-duplicates.
    pixel_facts: the :class:`PixelFacts` provider behind :attr:`pixel_scan` and
        :attr:`duplicate_groups` (required unless no rule asks for them).
    """

    dataset: Dataset
    fast: bool = False
    progress: bool = True
    border_tolerance_px: float = 0.01
    border_tolerance_norm: float = 1e-6
    rounding_tolerance_norm: float = 7.5e-5
    iou_threshold: float = 0.75
    reader_iou_threshold: float = 0.5
    area_rel_tolerance: float = 0.02
    bbox_tolerance_px: float = 1.0
    phash_threshold: int = 6
    pixel_facts: PixelFacts | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute ``compute()`` once per context and keep it under ``key``."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def drop(self, name: str) -> None:
        """Forget the cache entries called ``name`` (keys ``name`` and ``name:...``)."""
        for key in [k for k in self.cache if k == name or k.startswith(name + ":")]:
            del self.cache[key]

    def _pixel_facts(self) -> PixelFacts:
        if self.pixel_facts is None:
            raise UsageError(
                "this check context has no pixel facts: build it with "
                "pixel_facts=fracatlas_annot.validate.IMAGING_FACTS (or pass fast=True)"
            )
        return self.pixel_facts

    def _scan_inputs(self) -> tuple[list[str], list[Any]] | None:
        """Paths and keys of the readable images on disk (what :attr:`pixel_scan` decodes)."""
        im = self.dataset.images
        if not len(im):
            return None
        ok = im[im["path"].notna().to_numpy()]
        if "header_error" in ok:
            readable = ok["header_error"].isna().to_numpy()
            if "truncated" in ok:  # a truncated JPEG still decodes (the rest is grey)
                readable = readable | ok["truncated"].fillna(False).to_numpy(dtype=bool)
            ok = ok[readable]
        if not len(ok):
            return None
        return list(ok["path"]), list(ok.index)

    def start_pixel_scan(self) -> None:
        """Start :attr:`pixel_scan` now (when the provider can: ``start_scan``), so that the
        workers decode while this process runs the other rules; nothing with ``fast``.
        :meth:`close` drops a scan nobody asked for."""
        if self.fast or "pixel_scan" in self.cache or "_scan_started" in self.cache:
            return
        inputs = self._scan_inputs()
        start = getattr(self.pixel_facts, "start_scan", None)  # no provider: the rule says so when it asks
        if start is None or inputs is None:
            return
        self.cache["_scan_started"] = start(inputs[0], keys=inputs[1], progress=self.progress)

    def close(self) -> None:
        """Drop a started scan that was not collected (its worker processes stop)."""
        started = self.cache.pop("_scan_started", None)
        if started is not None:
            started.close()

    @property
    def pixel_scan(self) -> pd.DataFrame | None:
        """Decoded-pixel facts per readable image on disk (see :meth:`PixelFacts.scan`);
        None with ``fast``. Computed once, in :attr:`cache` (shared with the context's copies)."""
        if self.fast:
            return None
        return self.shared("pixel_scan", self._compute_scan)

    def _compute_scan(self) -> pd.DataFrame | None:
        started = self.cache.pop("_scan_started", None)
        if started is not None:
            try:
                return started.result()
            finally:
                started.close()
        inputs = self._scan_inputs()
        if inputs is None:
            return None
        return self._pixel_facts().scan(inputs[0], keys=inputs[1], progress=self.progress)

    @cached_property
    def duplicate_groups(self) -> pd.DataFrame:
        """``image, group, kind`` rows of duplicate groups (see :meth:`PixelFacts.duplicate_groups`);
        byte-identical files only with ``fast``."""
        im = self.dataset.images
        return self._pixel_facts().duplicate_groups(
            im.index,
            im["path"],
            im["file_size"],
            pixels=not self.fast,
            progress=self.progress,
            scan_result=self.pixel_scan,
            threshold=self.phash_threshold,
        )


# --------------------------------------------------------------------------- findings


def empty_findings() -> pd.DataFrame:
    """A typed, zero-length findings table."""
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in FINDING_COLUMNS})
    frame["object"] = pd.Series([], dtype="Int64")
    frame["line"] = pd.Series([], dtype="Int64")
    return frame


def findings(
    *,
    image: Any = None,
    source: Any = None,
    object: Any = None,
    message: Any,
    file: Any = None,
    line: Any = None,
    loc: Any = None,
) -> pd.DataFrame:
    """Build a rule's result from column arrays (scalars broadcast).

    Rules call this with vectors taken from the objects / images tables, e.g.::

        return findings(image=obj["image"], source=name, object=obj.index,
                        message=msgs, file=obj["file"], line=obj["line"], loc=obj["loc"])
    """
    cols = {
        "image": image,
        "source": source,
        "object": object,
        "message": message,
        "file": file,
        "line": line,
        "loc": loc,
    }
    obj_dtype = np.dtype("O")
    n = None
    for v in cols.values():
        if v is not None and not isinstance(v, str) and not np.isscalar(v):
            n = len(v)
            break
    if n is None:
        n = 1
    data: dict[str, Any] = {}
    for k, v in cols.items():
        if isinstance(v, (pd.Series, pd.Index)):
            v = v.to_numpy(dtype=obj_dtype, na_value=None)
        arr = np.empty(n, dtype=obj_dtype)
        if v is None or isinstance(v, str) or np.isscalar(v):
            arr[:] = [v] * n
        else:
            arr[:] = list(v)
        data[k] = arr
    frame = pd.DataFrame(data)
    return frame


def normalize_result(r: Rule, result: pd.DataFrame | list[dict[str, Any]] | None) -> pd.DataFrame:
    """Turn a rule's return value into a findings table with every column."""
    if result is None:
        return empty_findings()
    frame = pd.DataFrame(result) if not isinstance(result, pd.DataFrame) else result
    if not len(frame):
        return empty_findings()
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    out["code"] = r.code
    out["name"] = r.name
    if "severity" in frame:  # a rule may lower (or raise) the severity of single findings
        out["severity"] = [str(r.severity) if _isna(v) else str(v) for v in frame["severity"]]
    else:
        out["severity"] = str(r.severity)
    for c in RULE_RESULT_COLUMNS:
        if c in frame:
            col = frame[c]
        else:
            col = pd.Series([None] * len(frame), index=frame.index)
        if c in ("object", "line"):
            out[c] = pd.array([None if _isna(v) else int(v) for v in col], dtype="Int64")
        elif c == "related":
            out[c] = pd.Series([related_tuple(v) for v in col], index=frame.index, dtype=object)
        else:
            out[c] = pd.Series(
                [None if _isna(v) else (v if c == "message" else str(v)) for v in col], index=frame.index, dtype=object
            )
    out = out[FINDING_COLUMNS]
    for c in ("code", "name", "severity"):
        out[c] = out[c].astype(object)
    return out


def related_tuple(v: Any) -> tuple[str, ...]:
    """A ``related`` cell as a tuple of image names (``()`` for None / NaN / a scalar)."""
    if isinstance(v, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return tuple(str(x) for x in v if not _isna(x))
    return ()


def _isna(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def run_rules(ctx: CheckContext, rules: Sequence[Rule]) -> pd.DataFrame:
    """Run ``rules`` on ``ctx`` and return one findings table sorted by severity, code, image.

    Unless ``ctx.fast``, the pixel scan is started first when a rule reads it
    (:attr:`Rule.reads_scan`); those rules run after the others, which run while the
    workers decode. The order of the findings does not depend on the order of the rules."""
    parts = []
    core = _without_reader_sources(ctx)
    todo = [r for r in rules if not (r.needs_pixels and ctx.fast)]
    todo = [r for r in todo if not r.reads_scan] + [r for r in todo if r.reads_scan]
    try:
        if not ctx.fast and any(r.reads_scan for r in todo):
            ctx.start_pixel_scan()
        # the last rule to read each named cache entry: dropped after it (issue 13, point 3)
        last = {name: i for i, r in enumerate(todo) for name in r.caches}
        for i, r in enumerate(todo):
            parts.append(normalize_result(r, r.func(core if family_of(r.code).final_labels_only else ctx)))
            for name in r.caches:
                if last[name] == i:
                    ctx.drop(name)
            release()  # a rule's intermediates (GEOS shapes, hash tables) go back to the system
    finally:
        ctx.close()
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_findings()
    out = pd.concat(parts, ignore_index=True)
    rank = out["severity"].map({"error": 0, "warning": 1, "info": 2}).fillna(3)
    out = out.assign(_rank=rank).sort_values(
        ["_rank", "code", "image", "source", "object"], kind="stable", na_position="first"
    )
    return out.drop(columns="_rank").reset_index(drop=True)


def _without_reader_sources(ctx: CheckContext) -> CheckContext:
    """``ctx`` without the single readers' sources (added by ``agreement.add_readers``), for the
    families that judge the final labels only (:attr:`Family.final_labels_only`); structure,
    geometry, image and split rules still check the readers' own files. Shares the cache
    (pixel scans, duplicates)."""
    import dataclasses

    srcs = ctx.dataset.sources
    keep = {n: s for n, s in srcs.items() if not s.meta.get("reader")}
    if len(keep) == len(srcs):
        return ctx
    return dataclasses.replace(ctx, dataset=dataclasses.replace(ctx.dataset, sources=keep))


def location(file: Any, line: Any, loc: Any) -> str | None:
    """The JSON / terminal location: ``file:line``, ``file (loc)``, ``file``, or None."""
    f = None if _isna(file) else str(file)
    ln = None if _isna(line) else int(line)
    lc = None if _isna(loc) else str(loc)
    if f is None:
        return lc
    if ln is not None:
        return f"{f}:{ln}"
    if lc:
        return f"{f} ({lc})"
    return f
