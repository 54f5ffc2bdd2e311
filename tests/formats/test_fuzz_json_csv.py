"""Property tests: whatever bytes reach a single-document parser, it returns a Source and problems.

Three layers of input: raw bytes; any JSON value (st.recursive); and documents shaped like a
COCO / VGG export / rect CSV whose leaves are drawn from any JSON value, so that the fuzzing
reaches the per-annotation and per-region code, not only the syntax check.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fracatlas_annot.formats import coco, rect_csv, vgg
from fracatlas_annot.model import OBJECT_COLUMNS, Problem, Source

PARSERS = {"coco": coco.parse, "vgg": vgg.parse, "csv": rect_csv.parse}
# FUZZ_EXAMPLES=5000 for a longer hunt
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=500),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=5)),
    max_leaves=30,
)


def check(name: str, data: bytes) -> None:
    source, problems = PARSERS[name](data, file="input")
    assert isinstance(source, Source) and source.name == name
    assert all(isinstance(p, Problem) and p.file == "input" and p.kind for p in problems)
    assert list(source.objects.columns)[: len(OBJECT_COLUMNS)] == list(OBJECT_COLUMNS)
    if len(source.objects):
        # every row is placed: an image key and a location
        assert source.objects["image"].map(lambda v: isinstance(v, str)).all()
        assert source.objects["loc"].notna().all()


def dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes(data: bytes) -> None:
    for name in PARSERS:
        check(name, data)


@SETTINGS
@given(value=json_values)
def test_any_json_value(value: object) -> None:
    data = dumps(value)
    for name in PARSERS:
        check(name, data)


polygon_lists = st.lists(st.lists(st.one_of(numbers, scalars), max_size=12), max_size=3)
rle = st.fixed_dictionaries(
    {"size": st.one_of(st.lists(st.integers(0, 12), min_size=2, max_size=2), json_values),
     "counts": st.one_of(st.lists(st.integers(0, 50), max_size=8), st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno", max_size=10), json_values)}
)  # fmt: skip
coco_annotation = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "image_id": st.one_of(st.integers(0, 4), json_values),
        "category_id": st.one_of(st.integers(0, 3), json_values),
        "iscrowd": st.one_of(st.integers(0, 1), json_values),
        "segmentation": st.one_of(polygon_lists, rle, json_values),
        "bbox": st.one_of(st.lists(numbers, min_size=4, max_size=4), json_values),
        "area": json_values,
    },
)
coco_image = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(0, 4), json_values),
        "file_name": st.one_of(st.sampled_from(["a.jpg", "b.jpg", "dir/c.jpg", ""]), json_values),
        "width": json_values,
        "height": json_values,
    },
)
coco_doc = st.fixed_dictionaries(
    {},
    optional={
        "images": st.one_of(st.lists(st.one_of(coco_image, json_values), max_size=4), json_values),
        "annotations": st.one_of(st.lists(st.one_of(coco_annotation, json_values), max_size=6), json_values),
        "categories": st.one_of(
            st.lists(st.fixed_dictionaries({}, optional={"id": st.one_of(st.integers(0, 3), json_values), "name": json_values}), max_size=3),
            json_values,
        ),
    },
)


@SETTINGS
@given(doc=coco_doc)
def test_coco_shaped_documents(doc: dict) -> None:
    check("coco", dumps(doc))


shape = st.one_of(
    st.fixed_dictionaries(
        {"name": st.just("polygon")},
        optional={"all_points_x": st.lists(st.one_of(numbers, scalars), max_size=6), "all_points_y": st.lists(st.one_of(numbers, scalars), max_size=6)},
    ),
    st.fixed_dictionaries({"name": st.just("rect")}, optional={k: st.one_of(numbers, scalars) for k in ("x", "y", "width", "height")}),
    json_values,
)
region = st.fixed_dictionaries({}, optional={"shape_attributes": shape, "region_attributes": st.one_of(st.fixed_dictionaries({"label": scalars}), json_values)})
vgg_entry = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.one_of(st.sampled_from(["a.jpg", "b.jpg"]), json_values),
        "size": json_values,
        "regions": st.one_of(st.dictionaries(st.sampled_from("0123"), region, max_size=3), st.lists(region, max_size=3), json_values),
    },
)


@SETTINGS
@given(doc=st.dictionaries(st.sampled_from(["a.jpg", "b.jpg28737", "c.jpg"]), st.one_of(vgg_entry, json_values), max_size=3))
def test_vgg_shaped_documents(doc: dict) -> None:
    check("vgg", dumps(doc))


csv_field = st.one_of(st.integers(-5, 500).map(str), st.floats(allow_nan=True).map(repr), st.text(alphabet="ab,.-e \t\r", max_size=5))
csv_line = st.one_of(st.lists(csv_field, min_size=0, max_size=10).map(",".join), st.just(""))


@SETTINGS
@given(lines=st.lists(csv_line, max_size=8), header=st.booleans())
def test_csv_shaped_text(lines: list[str], header: bool) -> None:
    head = ["label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height"] if header else []
    check("csv", "\n".join(head + lines).encode())


def test_fuzz_helpers_reach_rows() -> None:
    """The shaped strategies are not vacuous: a well-formed example of each places a row."""
    good_coco = {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "segmentation": [[0, 0, 1, 0, 1, 1]]}], "categories": []}
    good_vgg = {"a.jpg": {"filename": "a.jpg", "regions": {"0": {"shape_attributes": {"name": "rect", "x": 1, "y": 1, "width": 2, "height": 2}}}}}
    for name, data in (("coco", dumps(good_coco)), ("vgg", dumps(good_vgg)), ("csv", b"a,1,2,3,4,a.jpg,10,10")):
        source, problems = PARSERS[name](data, file="input")
        assert len(source.objects) == 1 and problems == [], name
