"""The report of fixtures/defects driven in Chromium through Playwright: filters, the image
search, the per-image view and its keyboard, and the page read with JavaScript off.

The system Chromium (``/usr/bin/chromium``, Debian's package, which ``.ci/run`` installs)
is driven through ``executable_path``: no browser is downloaded. Every request other than
``file://`` is aborted and recorded; the test asserts there was none.
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DEFECTS = ROOT / "fixtures" / "defects"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from fracatlas_annot.report import build_report

    out = tmp_path_factory.mktemp("pw") / "report.html"
    data = build_report(DEFECTS, out_html=out, progress=False)
    return {"path": out, "data": data}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is required (apt-get install -y chromium; .ci/run does this)", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def open_page(browser: Browser, url: str, *, js: bool = True) -> tuple[Page, list[str], list[str]]:
    """A page at ``url``; returns it, the non-file requests (all aborted) and the page errors."""
    ctx = browser.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
    attempted: list[str] = []
    errors: list[str] = []

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, attempted, errors


def visible_rows(page: Page) -> list[dict]:
    """The finding rows a person sees: (code, image) of each visible row."""
    return page.eval_on_selector_all(
        "#findings tr[data-i]",
        "rs => rs.filter(r => r.offsetParent !== null).map(r => ({code: r.dataset.code, image: r.cells[0].textContent}))",
    )


def test_filters_search_and_per_image_view(browser: Browser, report: dict) -> None:
    data = report["data"]
    findings = data["findings"]
    page, attempted, errors = open_page(browser, report["path"].as_uri())
    assert page.get_attribute("body", "data-script") == "ready"
    assert page.locator("#filters").is_visible()

    # a rule filter: only that rule's rows are visible, all of them
    code = max(data["rules"], key=lambda r: r["count"])["code"]  # FA403: 16 findings, some folded away at first
    page.click(f"button.frule[data-code='{code}']")
    rows = visible_rows(page)
    assert {r["code"] for r in rows} == {code}
    assert len(rows) == sum(1 for f in findings if f["code"] == code)
    assert page.locator(f"#rule-{code}").is_visible()
    other = next(r["code"] for r in data["rules"] if r["code"] != code)
    assert not page.locator(f"#rule-{other}").is_visible()
    page.click(f"button.frule[data-code='{code}']")  # off again: every row is back
    assert len(visible_rows(page)) == len(findings)

    # the search box: the rows of one image
    with_flag = set(page.eval_on_selector_all("#images section.img:has(polygon.flagged)", "ss => ss.map(s => s.dataset.image)"))
    image = next(f["image"] for f in findings if f["image"] in with_flag and sum(g["image"] == f["image"] for g in findings) >= 2)
    page.fill("#f-q", image.lower())
    rows = visible_rows(page)
    assert {r["image"] for r in rows} == {image}
    assert len(rows) == sum(1 for f in findings if f["image"] == image)
    shown = page.eval_on_selector_all("#images section.img", "ss => ss.filter(s => s.offsetParent !== null).map(s => s.dataset.image)")
    assert shown == [image]  # the flagged-image sections follow the filters too
    assert "viewing" not in (page.get_attribute("body", "class") or "")  # the per-image view is not open yet
    page.fill("#f-q", "")
    # a severity filter combined with the search
    page.select_option("#f-sev", "warning")
    assert {r["code"] for r in visible_rows(page)} == {f["code"] for f in findings if f["severity"] == "warning"}
    page.select_option("#f-sev", "")

    # the per-image view: open it from a finding's image link
    page.fill("#f-q", image)
    page.click("#findings tr[data-i]:visible >> nth=0 >> a")
    section = page.locator("section.img.current")
    assert section.get_attribute("data-image") == image
    overlay = section.locator(".ov img")
    assert overlay.is_visible()
    box = overlay.bounding_box()
    assert box is not None and box["height"] > 600  # scaled to the 900 px window
    assert overlay.evaluate("i => i.complete && i.naturalWidth > 0")
    flagged = section.locator(".ov svg polygon.flagged")
    assert flagged.count() >= 1 and flagged.first.get_attribute("stroke") == "#ff1f1f"
    assert flagged.first.is_visible()
    objects = section.locator("table.objects")
    assert objects.is_visible()
    assert objects.locator("tbody tr").count() >= 1
    assert objects.locator("tbody tr", has_text="flagged").count() == section.locator("polygon.flagged").evaluate_all(
        "ps => new Set(ps.map(p => p.querySelector('title').textContent)).size"
    )
    assert not page.locator("#findings").is_visible()  # the view replaces the page

    # next / previous on the keyboard, over the images the filters leave (all, once cleared)
    page.click("#v-close")
    page.click("#f-clear")
    order = page.eval_on_selector_all("#images section.img", "ss => ss.map(s => s.dataset.image)")
    first = order[0]
    page.click(f"section.img[data-image='{first}'] h3 a")
    assert page.locator("section.img.current").get_attribute("data-image") == first
    page.keyboard.press("ArrowRight")
    assert page.locator("section.img.current").get_attribute("data-image") == order[1]
    assert page.locator("section.img.current .ilists").is_visible()
    assert not page.locator(f"section.img[data-image='{first}']").is_visible()
    page.keyboard.press("j")
    assert page.locator("section.img.current").get_attribute("data-image") == order[2]
    page.keyboard.press("k")
    assert page.locator("section.img.current").get_attribute("data-image") == order[1]
    assert order[1] in page.inner_text("#v-pos")
    page.keyboard.press("Escape")
    assert page.locator("#findings").is_visible()

    assert attempted == [] and errors == []
    page.context.close()


def test_readable_without_javascript(browser: Browser, report: dict) -> None:
    data = report["data"]
    page, attempted, errors = open_page(browser, report["path"].as_uri(), js=False)
    assert page.get_attribute("body", "data-script") is None
    assert not page.locator("#filters").is_visible()  # controls that would do nothing stay hidden
    # every finding is a row in the page (folded pages and rules count: their text is there)
    assert page.locator("#findings tr[data-i]").count() == len(data["findings"])
    first = page.locator("#findings section.rule").first
    assert first.locator("tr[data-i]").first.is_visible()
    # every flagged image has its section, with its overlay, findings and objects, readable in place
    flagged = list(dict.fromkeys(f["image"] for f in data["findings"] if f["image"]))
    sections = page.locator("#images section.img")
    assert sections.count() == len(flagged)
    s = sections.first
    s.scroll_into_view_if_needed()
    assert s.locator(".ov img").is_visible()
    assert s.locator("table.ifindings").is_visible() and s.locator("table.objects").is_visible()
    assert s.get_attribute("data-image") == flagged[0]
    # the image links are plain anchors to those sections
    link = page.locator("#findings tr[data-i] a").first
    href = link.get_attribute("href") or ""
    target = page.locator(f"[id='{href[1:]}']")
    assert href.startswith("#img-") and target.count() == 1
    link.click()
    expect(target).to_be_in_viewport()
    assert target.locator(".ov img").is_visible()
    # the embedded data is there (inert without script) and agrees with the rows
    embedded = json.loads(page.locator("#report-data").text_content() or "{}")
    assert [f[0] for f in embedded["findings"]] == [f["code"] for f in data["findings"]]
    assert attempted == [] and errors == []
    page.context.close()
