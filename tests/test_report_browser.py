"""The HTML report of the fixture archive, opened in a real browser (headless Chromium).

Chromium renders the page to a PNG and dumps its DOM. The test checks that the page is
not blank, that every section is there, and that the number of thumbnails, plots and
rule sections in the browser's DOM matches what the report says it drew. Chromium is a
CI requirement (``.ci/run`` installs Debian's ``chromium``): when it is missing the test
fails, it is never skipped.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from lxml import html as lxml_html
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]

pytestmark = pytest.mark.slow


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "headless Chromium is required for the HTML report's browser test and was not found on PATH "
        "(install the Debian package: `apt-get install -y chromium`; .ci/run does this)",
        pytrace=False,
    )


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    env["HOME"] = str(profile)  # keep Chromium's crash pads and caches out of the real home
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        timeout=180,
        check=False,
        env=env,
    )


def fixture_archive() -> Path:
    for name in ("defects", "fracatlas-mini"):
        if (FIXTURES / name / "dataset.csv").exists():
            return FIXTURES / name
    pytest.fail("no fixture archive (fixtures/defects or fixtures/fracatlas-mini) found", pytrace=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from fracatlas_annot.report import build_report

    tmp = tmp_path_factory.mktemp("browser")
    report = tmp / "report.html"
    data = build_report(fixture_archive(), out_html=report, progress=False)
    shot = tmp / "report.png"
    res = run_chromium(["--window-size=1280,2000", f"--screenshot={shot}", report.as_uri()], tmp / "profile-shot")
    assert shot.exists(), f"chromium wrote no screenshot (exit {res.returncode}):\n{res.stderr.decode(errors='replace')[-2000:]}"
    # a second, taller view that reaches the first rules' thumbnails below the rule index
    shot2 = tmp / "tall.png"
    res = run_chromium(["--window-size=1280,6000", f"--screenshot={shot2}", report.as_uri()], tmp / "profile-tall")
    assert shot2.exists(), res.stderr.decode(errors="replace")[-2000:]
    res_dom = run_chromium(["--virtual-time-budget=5000", "--dump-dom", report.as_uri()], tmp / "profile-dom")
    assert res_dom.returncode == 0, res_dom.stderr.decode(errors="replace")[-2000:]
    keep = os.environ.get("FRACATLAS_KEEP_SCREENSHOT")
    if keep:  # for a person who wants to look at them
        shutil.copy(shot, keep)
        shutil.copy(shot2, str(keep).replace(".png", "-tall.png"))
    return {"data": data, "png": shot.read_bytes(), "png_tall": shot2.read_bytes(), "dom": res_dom.stdout.decode("utf-8"), "html": report.read_text("utf-8")}


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)


def test_screenshot_is_not_blank(rendered: dict) -> None:
    px = pixels(rendered["png"])
    assert px.shape == (2000, 1280, 3)
    assert px.std() > 20, "the page rendered (almost) uniform"
    background = np.all(np.abs(px - np.array([250, 250, 250])) < 6, axis=-1)
    assert background.mean() < 0.9, "over 90% of the page is background"
    text = np.all(px < 100, axis=-1)
    assert text.mean() > 0.002, "no text drawn"
    red = (px[..., 0] > 170) & (px[..., 1] < 80) & (px[..., 2] < 80)
    assert red.sum() > 200, "no error badge or FAIL card drawn"


def longest_true_run(mask: np.ndarray) -> np.ndarray:
    """Per row of a boolean (h, w) array, the length of its longest run of True."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    d = np.diff(padded, axis=1)
    out = np.zeros(len(mask), dtype=int)
    for i, row in enumerate(d):
        starts, stops = np.flatnonzero(row == 1), np.flatnonzero(row == -1)
        if len(starts):
            out[i] = int((stops - starts).max())
    return out


def test_thumbnails_are_decoded_by_the_browser(rendered: dict) -> None:
    """Each thumbnail's dark frame (#111) must hold a decoded picture: rows where 100+
    consecutive pixels are not the frame colour. A data URI that does not decode leaves
    only the alt text and the caption inside the frame, and no such row."""
    from scipy import ndimage

    px = pixels(rendered["png_tall"])
    frame = np.all(np.abs(px - 17) < 4, axis=-1)
    labels, _ = ndimage.label(frame)
    figures = [s for s in ndimage.find_objects(labels) if s[1].stop - s[1].start >= 150 and s[0].stop - s[0].start >= 60]
    assert len(figures) >= 3, "no thumbnail frames in the first 6,000 px"
    with_picture = [s for s in figures if (longest_true_run(~frame[s]) >= 100).any()]
    assert len(with_picture) == len(figures)


def test_dom_has_every_section_and_image(rendered: dict) -> None:
    data = rendered["data"]
    dom = lxml_html.fromstring(rendered["dom"])
    for sid in ("report-header", "summary", "findings", "plots", "agreement", "duplicates", "report-footer"):
        assert dom.get_element_by_id(sid) is not None, sid
    codes = sorted({f["code"] for f in data["findings"]})
    sections = dom.xpath('//section[contains(concat(" ", @class, " "), " rule ")]')
    assert sorted(s.get("id") for s in sections) == [f"rule-{c}" for c in codes]
    for s in sections:
        code = s.get("id")[5:]
        assert int(s.get("data-count")) == sum(1 for f in data["findings"] if f["code"] == code)
    thumbs = dom.xpath('//section[@id="findings"]//figure[@class="thumb"]/img')
    assert len(thumbs) == data["thumbnails"]["findings_with_thumbnail"]
    assert all(i.get("src", "").startswith("data:image/jpeg;base64,") for i in thumbs)
    plots = dom.xpath('//section[@id="plots"]//img')
    assert len(plots) == len(data["plots"]) >= 4
    assert all(i.get("src", "").startswith("data:image/png;base64,") for i in plots)
    dups = dom.xpath('//section[@id="duplicates"]//div[@class="dup"]')
    assert len(dups) == min(len(data["duplicates"]), 200)
    # every finding is listed as a text row (thumbnail or not)
    rows = dom.xpath('//section[@id="findings"]//section//table/tbody/tr')
    assert len(rows) == len(data["findings"])
    footer = dom.get_element_by_id("report-footer").text_content()
    assert "KiB" in footer or "MiB" in footer


def test_page_needs_no_network(rendered: dict) -> None:
    page = rendered["html"]
    doc = lxml_html.fromstring(page)
    # the only scripts are inline (the enhancer and its inert JSON data); none loads anything
    assert [sc.get("type") for sc in doc.xpath("//script")] == ["application/json", None]
    assert not doc.xpath("//script[@src]")
    assert not doc.xpath("//link[@rel='stylesheet']")
    for el in doc.xpath("//*[@src or @href]"):
        ref = el.get("src") or el.get("href")
        assert ref.startswith(("data:", "#")), ref
    assert "http://" not in page.split("<body", 1)[0] and "https://" not in page.split("<body", 1)[0]
    assert "url(" not in page and "@import" not in page
