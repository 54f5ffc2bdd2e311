"""Conservation, not only "no exception": every object in a file is read or reported (issue 12).

For each reader (COCO, VOC, YOLO, VGG, rect CSV), hypothesis writes a file of a few objects in
the bytes makesense writes, corrupts some of the objects one at a time (a word for a number, a
missing field, NaN / Infinity / 1e999, a byte that is not UTF-8, an object moved under a
wrapper element, an orphan image id ...), parses it, and checks

    objects read + objects reported unreadable (and not read) == objects in the file

An object counts as reported when an error-level problem points at it: its line (YOLO, CSV,
VOC), its ``object[k]`` element (VOC), its ``annotations[j]`` index (COCO) or its
``<image>/regions/<key>`` (VGG). A file-level problem ("file not read") names no object, so a
reader that gives up on a whole file for one bad object fails this test: read problems are
losses and must be counted (a bad byte costs its line, not the file).
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fracatlas_annot.formats import coco, rect_csv, vgg, voc, yolo

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
W, H = 373, 454


def boxes(n: int) -> list[tuple[int, int, int, int]]:
    return [(10 + 30 * k, 20 + 25 * k, 30 + 30 * k, 60 + 25 * k) for k in range(n)]


def conserved(total: int, read_ids: list, reported_ids: set) -> None:
    read = set(read_ids)
    assert len(read) == len(read_ids), f"an object was read twice: {read_ids}"
    assert read <= set(range(total)), f"objects read that are not in the file: {sorted(read - set(range(total)))}"
    lost = set(range(total)) - read
    silent = sorted(lost - reported_ids)
    assert not silent, (f"{total} objects in the file, {len(read)} read, objects {silent} neither read nor "
                        f"reported (reported: {sorted(reported_ids)})")  # fmt: skip


def errors(problems) -> list:
    return [p for p in problems if p.severity == "error"]


def corruptions(options: list[str]):
    return st.integers(1, 6).flatmap(lambda n: st.lists(st.sampled_from([None, None, *options]), min_size=n, max_size=n))


# --------------------------------------------------------------------------- YOLO (one object a line)

YOLO_BAD = ["word", "nan", "inf", "1e999", "four-fields", "bad-byte", "nul", "class-half", "commas"]


def yolo_line(k: int, box: tuple[int, int, int, int], bad: str | None) -> bytes:
    x0, y0, x1, y1 = box
    f = ["0", f"{(x0 + x1) / 2 / W:.6f}", f"{(y0 + y1) / 2 / H:.6f}", f"{(x1 - x0) / W:.6f}", f"{(y1 - y0) / H:.6f}"]
    if bad == "word":
        f[2] = "abc"
    elif bad in ("nan", "inf", "1e999"):
        f[3] = bad
    elif bad == "four-fields":
        f.pop()
    elif bad == "class-half":
        f[0] = "0.5"
    elif bad == "nul":
        f[1] = f[1][:3] + "\x00" + f[1][3:]
    line = (",".join(f) if bad == "commas" else " ".join(f)).encode()
    if bad == "bad-byte":
        line = line[:4] + b"\xff" + line[5:]
    return line


@SETTINGS
@given(corruptions(YOLO_BAD))
def test_yolo_conserves_objects(bad: list[str | None]) -> None:
    data = b"\n".join(yolo_line(k, b, c) for k, (b, c) in enumerate(zip(boxes(len(bad)), bad)))
    source, problems = yolo.parse(data, file="a.txt", names=["fractured"])
    read = [int(x) - 1 for x in source.objects["line"]]
    reported = {int(p.line) - 1 for p in errors(problems) if p.line is not None}
    conserved(len(bad), read, reported)


# --------------------------------------------------------------------------- rect CSV (one object a line)

CSV_BAD = ["word", "nan", "fields", "empty-name", "bad-byte", "size-word"]


@SETTINGS
@given(corruptions(CSV_BAD))
def test_rect_csv_conserves_objects(bad: list[str | None]) -> None:
    lines = [b",".join(rect_csv.HEADER[i].encode() for i in range(8))]
    for (x0, y0, x1, y1), c in zip(boxes(len(bad)), bad):
        f = ["fractured", str(x0), str(y0), str(x1 - x0), str(y1 - y0), "IMG0000019.jpg", str(W), str(H)]
        if c == "word":
            f[2] = "abc"
        elif c == "nan":
            f[3] = "NaN"
        elif c == "fields":
            f.pop(4)
        elif c == "empty-name":
            f[5] = ""
        elif c == "size-word":
            f[6] = "wide"
        line = ",".join(f).encode()
        if c == "bad-byte":
            line = line[:3] + b"\xff" + line[4:]
        lines.append(line)
    source, problems = rect_csv.parse(b"\n".join(lines), file="a.csv")
    read = [int(x) - 2 for x in source.objects["line"]]  # object k is on line k + 2
    reported = {int(p.line) - 2 for p in errors(problems) if p.line is not None}
    conserved(len(bad), read, reported)


# --------------------------------------------------------------------------- VOC

VOC_BAD = ["word", "empty", "nan", "no-bndbox", "nested", "comment", "no-name"]


@SETTINGS
@given(corruptions(VOC_BAD))
def test_voc_conserves_objects(bad: list[str | None]) -> None:
    head = (f"<annotation>\n\t<folder>f</folder>\n\t<filename>IMG0000019.jpg</filename>\n\t<size>\n\t\t<width>{W}</width>\n"
            f"\t\t<height>{H}</height>\n\t\t<depth>1</depth>\n\t</size>\n\t<segmented>0</segmented>\n")  # fmt: skip
    parts, spans, line = [head], [], head.count("\n") + 1
    for k, ((x0, y0, x1, y1), c) in enumerate(zip(boxes(len(bad)), bad)):
        xmin = {"word": "abc", "empty": "", "nan": "nan", "comment": f"{str(x0)[0]}<!-- -->{str(x0)[1:]}"}.get(c, str(x0))
        box = "" if c == "no-bndbox" else (f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{y0}</ymin>\n"
                                          f"\t\t\t<xmax>{x1}</xmax>\n\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n")  # fmt: skip
        name = "" if c == "no-name" else f"\t\t<name>obj{k}</name>\n"
        obj = f"\t<object>\n{name}\t\t<pose>Unspecified</pose>\n{box}\t</object>\n"
        if c == "nested":
            obj = f"\t<group>\n{obj}\t</group>\n"
        spans.append((line, line + obj.count("\n") - 1))
        line += obj.count("\n")
        parts.append(obj)
    parts.append("</annotation>")
    source, problems = voc.parse("".join(parts).encode(), file="a.xml")
    by_line = {ln: k for k, (a, b) in enumerate(spans) for ln in range(a, b + 1)}
    read = []
    for label, ln in zip(source.objects["label"], source.objects["line"]):
        m = re.fullmatch(r"obj(\d+)", str(label))
        read.append(int(m.group(1)) if m else by_line.get(int(ln), -1) if ln == ln and ln is not None else -1)
    reported = set()
    for p in errors(problems):
        if p.line is not None and p.line in by_line:
            reported.add(by_line[p.line])
        elif p.loc and (m := re.search(r"object\[(\d+)\]", p.loc)):
            reported.add(int(m.group(1)) - 1)
    conserved(len(bad), read, reported)


# --------------------------------------------------------------------------- COCO

COCO_BAD = ["nan", "inf", "1e999", "no-segmentation", "segmentation-string", "orphan", "odd-length", "null-image",
            "string-category"]  # fmt: skip


@SETTINGS
@given(corruptions(COCO_BAD))
def test_coco_conserves_objects(bad: list[str | None]) -> None:
    anns = []
    for k, ((x0, y0, x1, y1), c) in enumerate(zip(boxes(len(bad)), bad)):
        seg: object = [[x0, y0, x1, y0, x1, y1, x0, y1]]
        a: dict = {"id": k, "iscrowd": 0, "image_id": 1, "category_id": 1, "segmentation": seg,
                   "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0)}  # fmt: skip
        if c in ("nan", "inf", "1e999"):
            a["segmentation"] = [[f"@{c}@", y0, x1, y0, x1, y1, x0, y1]]
        elif c == "no-segmentation":
            del a["segmentation"], a["bbox"]
        elif c == "segmentation-string":
            a["segmentation"] = "abc"
        elif c == "orphan":
            a["image_id"] = 999
        elif c == "odd-length":
            a["segmentation"] = [[x0, y0, x1, y0, x1, y1, x0]]
        elif c == "null-image":
            a["image_id"] = None
        elif c == "string-category":
            a["category_id"] = "one"
        anns.append(a)
    doc = {"info": {}, "images": [{"id": 1, "width": W, "height": H, "file_name": "IMG0000019.jpg"}],
           "annotations": anns, "categories": [{"id": 1, "name": "fractured"}]}  # fmt: skip
    text = json.dumps(doc).replace('"@nan@"', "NaN").replace('"@inf@"', "Infinity").replace('"@1e999@"', "1e999")
    source, problems = coco.parse(text.encode(), file="a.json")
    read = [int(re.search(r"annotations\[(\d+)\]", str(loc)).group(1)) for loc in source.objects["loc"]]
    reported = {int(m.group(1)) for p in errors(problems) if p.loc and (m := re.search(r"annotations\[(\d+)\]", p.loc))}
    conserved(len(bad), read, reported)


# --------------------------------------------------------------------------- VGG

VGG_BAD = ["word", "nan", "length-mismatch", "no-shape", "null-region", "unknown-shape", "string-points"]


@SETTINGS
@given(corruptions(VGG_BAD))
def test_vgg_conserves_objects(bad: list[str | None]) -> None:
    regions: dict[str, object] = {}
    for k, ((x0, y0, x1, y1), c) in enumerate(zip(boxes(len(bad)), bad)):
        xs, ys = [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]
        shape: dict = {"name": "polygon", "all_points_x": xs, "all_points_y": ys}
        if c == "word":
            xs[1] = "abc"
        elif c == "nan":
            xs[1] = "@nan@"
        elif c == "length-mismatch":
            ys.pop()
        elif c == "unknown-shape":
            shape["name"] = "blob"
        elif c == "string-points":
            shape["all_points_x"] = "1,2,3"
        region: object = {"shape_attributes": shape, "region_attributes": {"label": "fractured"}}
        if c == "no-shape":
            del region["shape_attributes"]  # type: ignore[union-attr]
        elif c == "null-region":
            region = None
        regions[str(k)] = region
    doc = {"IMG0000019.jpg1234": {"fileref": "", "size": 1234, "filename": "IMG0000019.jpg", "base64_img_data": "",
                                  "file_attributes": {}, "regions": regions}}  # fmt: skip
    text = json.dumps(doc).replace('"@nan@"', "NaN")
    source, problems = vgg.parse(text.encode(), file="a.json")
    read = [int(str(loc).rsplit("/", 1)[1]) for loc in source.objects["loc"]]
    reported = {int(m.group(1)) for p in errors(problems) if p.loc and (m := re.search(r"/regions/(\d+)$", p.loc))}
    conserved(len(bad), read, reported)
