"""Every page of the rendered book, opened in headless Chromium as a reader sees it.

The site is built (warnings as errors) from the chapters' executed notebooks, which the
test suite's nbmake run keeps when ``PLAYBOOK_EXECUTED_NOTEBOOKS`` names a folder, so the
pages carry their real outputs without executing the chapters twice. MathJax is served
from a local copy (``PLAYBOOK_MATHJAX_DIR``: the npm package ``mathjax@3``'s ``es5``
folder), the site from 127.0.0.1, and every request to another host is refused, so a page
that needs the network fails here. On each page, at 1280 px: all maths typeset (no raw TeX,
no MathJax error), every image loads and has alt text, no code cell or output wider than the
content column, exercise solutions folded, no console errors, no stderr box, no internal
words.

Needs Chromium and its driver (Debian's ``chromium`` and ``chromium-driver``), ``selenium``
(the ``browser`` extra), executed notebooks and MathJax. Skipped with the reason when any is
missing, unless ``PLAYBOOK_REQUIRE_BROWSER=1`` (for a run that must not skip), where a missing
piece fails the test.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import BOOK_DIR, REPO_ROOT

REQUIRED = os.environ.get("PLAYBOOK_REQUIRE_BROWSER") == "1"
EXECUTED = os.environ.get("PLAYBOOK_EXECUTED_NOTEBOOKS", "")
MATHJAX = os.environ.get("PLAYBOOK_MATHJAX_DIR", "")
CHAPTERS = sorted(
    path.stem for path in BOOK_DIR.glob("*.md") if "kernelspec" in path.read_text()[:600]
)
WIDTH = 1280


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[browser]')"
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return "Chromium or its driver is missing (apt-get install chromium chromium-driver)"
    if not EXECUTED or not all((Path(EXECUTED) / f"{c}.ipynb").exists() for c in CHAPTERS):
        return (
            "the chapters' executed notebooks are missing: run the suite with "
            "PLAYBOOK_EXECUTED_NOTEBOOKS=<folder> first (as .ci/run does)"
        )
    if not MATHJAX or not (Path(MATHJAX) / "tex-chtml.js").exists():
        return "no local MathJax: PLAYBOOK_MATHJAX_DIR must hold mathjax@3's es5 folder"
    return None


def _build(root: Path) -> Path:
    """Copy the book's sources to ``root``, swap each chapter's MyST source for its executed
    notebook, build with warnings as errors and execution off; the HTML folder."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO_ROOT / name, root / name)
    shutil.copytree(BOOK_DIR, root / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    for chapter in CHAPTERS:
        (root / "book" / f"{chapter}.md").unlink()
        shutil.copy(Path(EXECUTED) / f"{chapter}.ipynb", root / "book" / f"{chapter}.ipynb")
    # A page that links a chapter by file ("[CUPED](cuped.md)", as the recipes page does)
    # resolves in the real build; here the chapter's source is its .ipynb, so point the
    # link there, or -n reports a missing target that no reader would meet.
    chapter_link = re.compile(
        r"\]\(((?:[^()\s]*/)?(?:" + "|".join(map(re.escape, CHAPTERS)) + r"))\.md([#)])"
    )
    for source in [*(root / "book").rglob("*.md"), *(root / "book").glob("*.ipynb")]:
        text = source.read_text()
        if chapter_link.search(text):
            source.write_text(chapter_link.sub(r"](\1.ipynb\2", text))
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    config["exclude_patterns"] = [p for p in config["exclude_patterns"] if p != "book/*.ipynb"]
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["mathjax_path"] = "mathjax/tex-chtml.js"  # relative to _static
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jupyter_book, "jupyter-book is not installed (pip install -e '.[book]')"
    result = subprocess.run(
        [jupyter_book, "build", str(root), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=900,
    )
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "book build failed:\n" + "\n".join(warnings or [log[-4000:]])
    html = root / "_build" / "html"
    shutil.copytree(MATHJAX, html / "_static" / "mathjax")
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    reason = _missing()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"PLAYBOOK_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    html = _build(tmp_path_factory.mktemp("site"))
    pages = sorted(
        str(path.relative_to(html))
        for path in html.rglob("*.html")
        if not path.relative_to(html).parts[0].startswith("_")
        and path.name not in ("genindex.html", "search.html", "py-modindex.html")
    )
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()


def _chromium():  # type: ignore[no-untyped-def]
    """Headless Chromium at the test width; every host but 127.0.0.1 is unreachable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


@pytest.fixture(scope="module")
def browser(site):  # type: ignore[no-untyped-def]
    driver = _chromium()
    yield driver
    driver.quit()


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup) { done("none"); return; }
MathJax.startup.promise.then(() => done("ok"), (error) => done("error: " + error));
"""

PAGE_PROBLEMS = r"""
const problems = [];
const article = document.querySelector("article.bd-article") || document.body;
const short = (text) => text.trim().replace(/\s+/g, " ").slice(0, 70);
for (const el of article.querySelectorAll(".math")) {
  if (!el.querySelector("mjx-container")) {
    problems.push("maths not typeset: " + short(el.textContent));
  }
}
for (const el of article.querySelectorAll("mjx-merror, [data-mjx-error]")) {
  problems.push("MathJax error: " + short(el.getAttribute("data-mjx-error") || el.textContent));
}
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (node.parentElement.closest("pre, code, script, style, mjx-container, .highlight")) continue;
  if (/\$\$|\\\(|\\\[|\\(frac|hat|mathbb|mathrm|sum|sqrt)\b/.test(node.textContent)) {
    problems.push("raw TeX: " + short(node.textContent));
  }
}
for (const img of article.querySelectorAll("img")) {
  if (!img.complete || img.naturalWidth === 0) {
    problems.push("image does not load: " + img.src);
  }
  if (!(img.getAttribute("alt") || "").trim()) {
    problems.push("image without alt text: " + img.src.slice(-50));
  }
}
const wide = "pre, div.cell_output > div.output, div.pst-scrollable-table-container";
for (const el of article.querySelectorAll(wide)) {
  if (el.scrollWidth > el.clientWidth + 1) {
    const widths = `${el.scrollWidth} px in ${el.clientWidth} px`;
    problems.push(`wider than the column (${widths}): ` + short(el.textContent));
  }
}
for (const solution of article.querySelectorAll(".solution")) {
  // sphinx-togglebutton folds a dropdown to its title bar (class toggle-hidden)
  const folded = solution.matches(".toggle-hidden")
    && solution.getBoundingClientRect().height < 120;
  if (!folded) problems.push("solution not folded: " + short(solution.textContent));
}
for (const el of article.querySelectorAll(".stderr, .output_stderr, div.output.traceback")) {
  problems.push("stderr or traceback box: " + short(el.textContent));
}
const internal = article.innerText.match(/seed notes?\b|the seed\b|errat(a|um)\b/i);
if (internal) problems.push("internal word: " + internal[0]);
return problems;
"""


def page_problems(driver, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Everything a reader would trip over on the page at ``url``."""
    driver.get(url)
    problems = []
    mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX)
    if mathjax.startswith("error"):
        problems.append(f"MathJax failed: {mathjax}")
    problems += driver.execute_script(PAGE_PROBLEMS)
    problems += [
        f"console: {entry['message'][:160]}"
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not _HARMLESS_CONSOLE.search(entry["message"])
    ]
    return problems


# Console errors of the first page a new browser profile opens, whichever page that is, and
# that no reader sees: Chrome asks every site for /favicon.ico (the book sets no favicon,
# and a published book's root is not ours), and pydata-sphinx-theme (0.15-0.17) reads an
# empty localStorage "mode" on a first visit, logs "Got invalid theme mode: . Resetting to
# auto." and stores "auto" (the theme's own fallback; the page renders as in auto mode).
_HARMLESS_CONSOLE = re.compile(
    r"/favicon\.ico - Failed to load resource|Got invalid theme mode: \. Resetting to auto"
)


@pytest.mark.timeout(1200)
def test_every_page_reads_cleanly_in_chromium(site, browser) -> None:  # type: ignore[no-untyped-def]
    base, pages = site
    assert len(pages) >= len(CHAPTERS) + 3, pages
    report = {
        page: problems for page in pages if (problems := page_problems(browser, f"{base}/{page}"))
    }
    lines = [f"{page}: {problem}" for page, problems in report.items() for problem in problems]
    assert not report, f"{len(lines)} problems on {len(report)} pages:\n" + "\n".join(lines[:80])
