"""Debian's headless Chromium for the browser tests, launched one way everywhere, and
the accessibility checks they share (axe-core; reflow at 390 px and 200 % zoom).

The background-networking flags matter: without them Chromium keeps reaching for
hosts this closed network refuses. ``make test`` installs the package when missing.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch(playwright):
    """A headless Chromium driven by Playwright (from PyPI), never its own download."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


# axe-core (npm, package.json): the accessibility engine the checks below run in the page.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

# Where a page's content goes past its width: what the reader at 390 px or at 200 %
# zoom would have to scroll sideways for, or would not see. Inside a box that scrolls
# by itself (a wide data table) content may; the skip link waits off screen on purpose.
_CUT = """() => {
  const width = document.documentElement.clientWidth;
  const cut = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest('.skip')) continue;
    let up = el.parentElement, scrolls = false;
    for (; up && !scrolls; up = up.parentElement)
      scrolls = ['auto', 'scroll'].includes(getComputedStyle(up).overflowX);
    if (!scrolls && (box.right > width + 1 || box.left < -1))
      cut.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
  }
  return {scroll: document.documentElement.scrollWidth, width, cut: cut.slice(0, 10)};
}"""


def axe_violations(page, impacts=SERIOUS) -> list[str]:
    """axe-core's violations of ``impacts`` on the page as it stands: 'rule: element'."""
    # A colour still fading in (a CSS transition) reads as low contrast: let every
    # animation that ends end first (a spinner's never does).
    page.evaluate("() => Promise.all(document.getAnimations().filter(a => "
                  "a.effect && a.effect.getComputedTiming().endTime !== Infinity)"
                  ".map(a => a.finished.catch(() => null)))")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => "
                          "({id: v.id, impact: v.impact, nodes: v.nodes.map(n => "
                          "n.target.join(' '))}))")
    return [f"{v['id']}: {node}" for v in found if v["impact"] in impacts for node in v["nodes"]]


def overflow(page) -> dict:
    """{scroll, width, cut}: the page's scroll width, its viewport's, what sticks out."""
    return page.evaluate(_CUT)


# A phone held upright, and a 1280 px screen zoomed to 200 % (the same CSS width:
# 640 px at two device pixels per CSS pixel).
NARROW = [({"width": 390, "height": 844}, 1), ({"width": 640, "height": 400}, 2)]
