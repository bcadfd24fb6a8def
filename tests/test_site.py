"""The built site as a reader sees it: every page opened in headless Chromium from a local server.

The book is built once (from the stored runs, into a temporary folder) for the whole module. Each
page must load offline without a console error or a failed request, show its figures and typeset
its math, and keep the display rules a reader at a 1280 px window relies on: every table cell
padded, no figure shown below 75 % of its drawn width (tests/test_figures_tables.py checks that
figure text is drawn at 9.5 pt or more at 100 dpi: at 75 % that is 9.9 px), and no control that
does nothing (the static pages hold no live widget; the animations' sliders work, tested below).
"""
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from e2e import build_book, chapters, chromium, serve, sphinx_warnings

# Figures (loaded <img> in the page's article) each chapter shows; the animations' frames count
# as one image each. A chapter whose plot call fails or is dropped changes its count.
EXPECTED_IMAGES = {
    "intro": 2, "claims": 1, "discriminators": 1, "failures": 3, "success": 4, "no_clipping": 2,
    "other_discriminators": 6, "comparison": 0, "seeds": 1, "clip_slider": 1, "clip_lr_map": 1, "critic": 3,
    "grid": 4, "reproducing": 0, "porting": 0, "grid_protocol": 0, "sources": 0,
}


def expected_images(name):
    """EXPECTED_IMAGES, with the grid chapter's figures of the run sets it reports while they train:
    the finals' three (samples, critics, distances to the centres) once any final run is stored, one
    more for each discriminator with a flat critic among them, the ladder down's once every run of it
    is."""
    if name != "grid":
        return EXPECTED_IMAGES[name]
    from wgan_lib.finals import finals_fates
    from wgan_lib.runsets import is_complete, load_stored

    finals = load_stored("best")
    return (EXPECTED_IMAGES[name] + 3 * bool(finals) + sum(bool(f["flat"]) for f in finals_fates(finals).values())
            + is_complete("ladder-down", load_stored("ladder-down")))
ANIMATIONS = {"success": 1, "clip_slider": 1}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the book as a reader would, with the plain `jupyter-book build book` from the repository
    root (into a temporary folder: --path-output), nothing fetched before it; WGAN_TEST_SITE=<html
    folder> tests a site already built (by `make book`, say) instead."""
    if os.environ.get("WGAN_TEST_SITE"):
        html = Path(os.environ["WGAN_TEST_SITE"])
    else:
        out = tmp_path_factory.mktemp("site")
        result = build_book("book", out, strict=False)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"jupyter-book build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert not sphinx_warnings(output), sphinx_warnings(output)
        html = out / "_build" / "html"
    with serve(html) as url, chromium() as browser:
        yield html, url, browser


def open_page(browser, url, page_name):
    """Open one page; return (page, console errors, failed requests, hosts other than the server's)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, failed, foreign = [], [], []
    local = urlparse(url).netloc

    def route(r):
        host = urlparse(r.request.url).netloc
        if r.request.url.startswith(("data:", "blob:")) or host == local:
            return r.continue_()
        foreign.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
    page.goto(f"{url}/{page_name}.html", wait_until="networkidle")
    return page, errors, failed, foreign


def test_every_chapter_is_in_the_expectations():
    assert set(chapters()) == set(EXPECTED_IMAGES)


@pytest.mark.parametrize("name", list(EXPECTED_IMAGES))
def test_page_loads_offline_with_its_figures_and_math(site, name):
    html, url, browser = site
    page, errors, failed, foreign = open_page(browser, url, name)
    try:
        assert not foreign, f"{name}: requests to other hosts: {foreign}"
        assert not failed, f"{name}: failed requests: {failed}"
        assert not errors, f"{name}: console errors: {errors}"
        figures = "article img:not(.jupyter-widgets)"  # the clip explorer's widget images are tested below
        loaded = page.eval_on_selector_all(figures, "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
        total = page.eval_on_selector_all(figures, "imgs => imgs.length")
        assert (loaded, total) == (expected_images(name),) * 2, f"{name}: {loaded} of {total} images loaded"
        assert page.locator("div.animation").count() == ANIMATIONS.get(name, 0)
        # Every inline and display formula is typeset by the local MathJax (CHTML output).
        page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
        page.evaluate("() => window.MathJax.startup.promise")
        raw_math = page.eval_on_selector_all("article .math", "els => els.filter(e => !e.querySelector('mjx-container') && !e.closest('mjx-container')).length")
        typeset = page.locator("article mjx-container").count()
        assert raw_math == 0 and typeset > 0, f"{name}: {typeset} formulas typeset, {raw_math} left raw"
        mathjax_src = page.eval_on_selector("script[src*='mathjax']", "s => s.src")
        assert urlparse(mathjax_src).netloc == urlparse(url).netloc
        check_display_rules(page, name)
        page.screenshot(path=str(html / f"screenshot-{name}.png"), full_page=True)
        assert (html / f"screenshot-{name}.png").stat().st_size > 10_000
    finally:
        page.close()


@pytest.mark.parametrize("name", list(ANIMATIONS))
def test_animation_slider_changes_the_frame(site, name):
    html, url, browser = site
    page, errors, failed, foreign = open_page(browser, url, name)
    try:
        animation = page.locator("div.animation").first
        slider = animation.locator("input[type=range]")
        image = animation.locator("img")
        n_frames = int(slider.get_attribute("max")) + 1
        assert n_frames >= 2
        animation.locator("button[title='Pause']").click()  # it may be playing; hold it still
        frames = []
        for frame in (0, n_frames - 1):
            slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", frame)
            frames.append(image.get_attribute("src"))
        assert frames[0] != frames[1], "moving the slider did not change the displayed frame"
        assert all(re.match(r"data:image/png;base64,", f) for f in frames)
        assert not errors
    finally:
        page.close()


def check_display_rules(page, name):
    paddings = page.eval_on_selector_all(
        "article table td, article table th",
        "els => els.map(e => { const s = getComputedStyle(e); return [parseFloat(s.paddingLeft), parseFloat(s.paddingRight), e.textContent.slice(0, 30)]; })")
    cramped = [p for p in paddings if p[0] < 4 or p[1] < 4]
    assert not cramped, f"{name}: table cells without padding: {cramped[:5]}"
    scales = page.eval_on_selector_all(
        "article img", "imgs => imgs.filter(i => i.naturalWidth > 0).map(i => "
        "[i.getBoundingClientRect().width / i.naturalWidth, i.naturalWidth, i.getAttribute('alt') || i.src.slice(0, 40)])")
    shrunk = [s for s in scales if s[0] < 0.75]
    # At 1280 px every table fits its column: no reader has to scroll sideways to see a column, and
    # a "mean ± error" stays on one line (td.num) instead of stacking over three.
    wide = page.eval_on_selector_all(
        "article table.wgan-table", "ts => ts.map(t => [t.scrollWidth, (t.closest('.output') || t.parentElement)"
        ".clientWidth, t.rows[0].textContent.slice(0, 40)]).filter(([w, room]) => w > room + 1)")
    assert not wide, f"{name}: tables wider than the text column: {wide}"
    broken = page.eval_on_selector_all(  # the text's line boxes: more than one is a broken number
        "article table.wgan-table td.num", "els => els.filter(e => { const r = document.createRange(); "
        "r.selectNodeContents(e); return new Set(Array.from(r.getClientRects()).map(b => Math.round(b.top))).size > 1; }).length")
    assert broken == 0, f"{name}: {broken} numeric cells broken over lines"
    assert not shrunk, f"{name}: figures shown below 75 % of their drawn width: {shrunk}"
    # Nor a code block or a prose table: a command or its comment cut off at the edge is read wrong.
    cut = page.eval_on_selector_all(
        "article div.highlight pre, article table:not(.wgan-table)",
        "els => els.map(e => e.tagName === 'PRE' ? e : e.closest('.table-wrapper') || e.parentElement)"
        ".filter(box => box.scrollWidth > box.clientWidth + 1)"
        ".map(e => e.textContent.trim().slice(0, 40))")
    assert not cut, f"{name}: code blocks or tables wider than the text column: {cut}"
    # A number glued into prose is a number, not a numpy repr ("np.int64(3)").
    reprs = page.eval_on_selector_all(
        "article span.pasted-text", "els => els.map(e => e.textContent).filter(t => /np\\.[a-z_]+[0-9]*\\(|np\\.(True|False)_/.test(t))")
    assert not reprs, f"{name}: numpy reprs glued into the prose: {reprs[:5]}"
    # A number glued into prose reads as part of its sentence, not in bold (myst-nb's default).
    loud = page.eval_on_selector_all(
        "article span.pasted-text", "els => els.filter(e => getComputedStyle(e).fontWeight !== "
        "getComputedStyle(e.parentElement).fontWeight).map(e => e.textContent.slice(0, 30))")
    assert not loud, f"{name}: glued numbers in another weight than their sentence: {loud[:5]}"
    widgets = page.eval_on_selector_all("article [class*='widget']", "els => els.length")
    loose_sliders = page.eval_on_selector_all("article input[type=range]", "els => els.filter(e => !e.closest('div.animation')).length")
    assert widgets == 0 and loose_sliders == 0, f"{name}: {widgets} widget elements, {loose_sliders} sliders outside an animation"
    # One search control for the reader (the sidebar's), not a second one in a header bar that holds nothing else.
    searches = page.eval_on_selector_all(
        ".search-button-field", "els => els.filter(e => e.getBoundingClientRect().width > 0).length")
    assert searches == 1, f"{name}: {searches} visible search controls"


def test_the_static_clip_page_shows_the_animation_and_no_dead_widget(site):
    """The clip explorer needs a kernel: the static page shows its animation and no widget."""
    html, url, browser = site
    page, errors, failed, foreign = open_page(browser, url, "clip_slider")
    try:
        assert page.locator("div.animation").count() == 1
        assert page.locator(".widget-slider, .widget-button, .jupyter-widgets").count() == 0
        assert not foreign and not failed and not errors
    finally:
        page.close()


def test_the_posts_japanese_is_drawn_with_the_font_the_book_ships(site):
    """The claims chapter quotes the post in Japanese; the machine that runs this test has no
    Japanese font of its own, so the glyphs must come from book/_static/fonts (tools/subset_font.py)."""
    html, url, browser = site
    page, errors, failed, foreign = open_page(browser, url, "claims")
    try:
        quote = page.locator("article blockquote", has_text="WGANでも").first
        assert quote.count() == 1
        loaded = page.evaluate("async () => { await document.fonts.ready; return [...document.fonts]"
                               ".filter(f => f.family.includes('Noto Sans JP subset') && f.status === 'loaded').length; }")
        assert loaded >= 1
        assert not foreign and not failed and not errors
    finally:
        page.close()
