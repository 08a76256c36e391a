"""The book's other editions: the student edition (no solutions) and the printable PDF.

Run from the repository's root::

    .venv/bin/python book/_ext/editions.py student [--executed DIR] [--output DIR]
    .venv/bin/python book/_ext/editions.py pdf [--html DIR] [--output FILE]
    .venv/bin/python book/_ext/editions.py fingerprints book/assignments/week1.md ...

``student`` writes a copy of the book's sources with every solution removed into a
temporary tree and builds that copy with Jupyter Book (warnings as errors) into
``_build/student`` (the site in ``_build/student/_build/html``). Removed are: sphinx-exercise's
``{solution}`` blocks and gated ``{solution-start}`` ... ``{solution-end}`` blocks (with the
code cells between them), the hidden check cells after a page's first exercise (they assert
the numbers the solutions quote), and in the assignments every cell tagged ``solution``,
which becomes a stub: its leading comments and an ``answer_... = ...`` line for each answer
it defines. The page sources, the executed notebooks and the downloads are built from the
stripped copy, so no solution reaches any file of the edition. With ``--executed DIR`` (the
notebooks the test suite keeps with ``PLAYBOOK_EXECUTED_NOTEBOOKS``) the chapters are not
executed again: their executed notebooks are stripped and rendered; without it every
chapter is executed (several minutes).

``pdf`` prints every page of a built site (default ``_build/html``; build it first, or pass
``--html`` the student edition's) with headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium), one PDF per page, so each chapter starts on a new
sheet, and merges them in the table of contents' order into one A4 file with a bookmark per
page (pypdf; both are in the ``teaching`` extra). Maths is typeset when a local MathJax 3
is given (``--mathjax DIR``, the npm package's ``es5`` folder, or ``PLAYBOOK_MATHJAX_DIR``);
the machine needs no network and no TeX.

``fingerprints`` runs an assignment's teacher's version (its MyST source) and writes into
each ``teaching.check_answer`` call the fingerprint of the answer its solution computes
(after writing or changing a task), then re-pairs the ``.ipynb``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = "assignments"
SOLUTION_TAG = "solution"
_SOLUTION_TAGS = {SOLUTION_TAG, "hide-cell", "hide-input"}
_FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*(\{[\w-]+\})?")


# ------------------------------------------------------------------------ stripping
def strip_solution_blocks(text: str, in_gated: bool = False) -> tuple[str, bool]:
    """Remove ``{solution}`` blocks and gated solution blocks from Markdown ``text``.

    ``in_gated`` says whether ``text`` starts inside a ``{solution-start}`` block (a gated
    solution spans several notebook cells). Returns the stripped text and whether it ends
    inside a gated block.
    """
    kept: list[str] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        directive = match.group(3) if match else None
        if in_gated:
            if directive == "{solution-end}":
                in_gated = False
                index = _skip_block(lines, index, match.group(2))
            else:
                index += 1
            continue
        if directive == "{solution}":
            index = _skip_block(lines, index, match.group(2))
            continue
        if directive == "{solution-start}":
            in_gated = True
            index = _skip_block(lines, index, match.group(2))
            continue
        kept.append(line)
        index += 1
    stripped = "".join(kept)
    return re.sub(r"\n{3,}", "\n\n", stripped), in_gated


def _skip_block(lines: list[str], start: int, fence: str) -> int:
    """The index after the directive block that opens at ``lines[start]`` with ``fence``."""
    for index in range(start + 1, len(lines)):
        if lines[index].strip() == fence:
            return index + 1
    raise ValueError(f"unclosed {fence} block at line {start + 1}: {lines[start].strip()}")


def _answer_names(source: str) -> list[str]:
    """The ``answer_...`` names a code cell assigns at top level, in order."""
    names: list[str] = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for name in ast.walk(target):
                if (
                    isinstance(name, ast.Name)
                    and name.id.startswith("answer_")
                    and name.id not in names
                ):
                    names.append(name.id)
    return names


def student_stub(source: str) -> str:
    """A solution cell's student version: its leading comment lines, then ``name = ...``
    for every ``answer_...`` name the cell assigns; empty (the cell is dropped) when it
    assigns none."""
    comments = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        comments.append(line)
    names = _answer_names(source)
    return "\n".join([*comments, *(f"{name} = ..." for name in names)]) if names else ""


def is_solution_cell(cell: Any) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_notebook(notebook: Any, assignment: bool = False) -> Any:
    """A copy of ``notebook`` (an ``nbformat`` notebook) without its solutions.

    Chapters lose their solution blocks, the cells of gated solutions and the hidden check
    cells (tagged ``remove-cell``) after their first exercise; assignments also turn every
    cell tagged ``solution`` into its :func:`student_stub` (Markdown ones are dropped) and
    lose every output.
    """
    import nbformat

    notebook = nbformat.from_dict(notebook)  # a deep copy
    cells = []
    in_gated = False
    after_first_exercise = False
    for cell in notebook.cells:
        source = cell.source
        if assignment and is_solution_cell(cell):
            if cell.cell_type == "code" and student_stub(source):
                cell.source = student_stub(source)
                # the teacher's edition folds its solutions (hide-cell); a stub is shown
                tags = [tag for tag in cell.metadata["tags"] if tag not in _SOLUTION_TAGS]
                if tags:
                    cell.metadata["tags"] = tags
                else:
                    del cell.metadata["tags"]
                cells.append(cell)
            continue
        if cell.cell_type == "markdown":
            after_first_exercise |= "{exercise}" in source or "{exercise-start}" in source
            was_gated = in_gated
            stripped, in_gated = strip_solution_blocks(source, in_gated)
            if stripped.strip():
                cell.source = stripped.strip("\n")
                cells.append(cell)
            elif not source.strip() and not was_gated:
                cells.append(cell)  # an empty cell outside any solution stays
            continue
        if in_gated:
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and after_first_exercise and "remove-cell" in tags:
            continue
        cells.append(cell)
    if in_gated:
        raise ValueError("a {solution-start} block is never closed by {solution-end}")
    notebook.cells = cells
    if assignment:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
    return notebook


def strip_source(path: Path, destination: Path, assignment: bool) -> None:
    """Write ``path`` (a MyST notebook, a plain MyST page or an executed ``.ipynb``)
    without its solutions to ``destination``, in the same format."""
    import jupytext
    import nbformat

    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        nbformat.write(strip_notebook(notebook, assignment), destination)
        return
    text = path.read_text()
    if "kernelspec" in text[:600]:
        notebook = jupytext.reads(text, fmt="md:myst")
        destination.write_text(jupytext.writes(strip_notebook(notebook, assignment), "md:myst"))
    else:
        stripped, in_gated = strip_solution_blocks(text)
        if in_gated:
            raise ValueError(f"{path}: a {{solution-start}} block is never closed")
        destination.write_text(stripped)


# ---------------------------------------------------------------- fingerprints
_CHECK_CALL = re.compile(
    r'check_answer\(\s*"(?P<task>[^"]+)",\s*(?P<name>answer_\w+),\s*"(?P<hash>[0-9a-f]*)"'
    r"(?P<rest>[^)]*)\)"
)


def fill_fingerprints(path: Path) -> list[str]:
    """Run the teacher's version ``path`` (a MyST notebook) in this process and write each
    ``check_answer`` call's fingerprint from the answer the solution computed; the paired
    ``.ipynb`` is updated with Jupytext. Returns the tasks filled."""
    import jupytext
    import matplotlib

    from playbook_lib import teaching

    matplotlib.use("Agg")
    notebook = jupytext.read(path)
    namespace: dict[str, Any] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or "check_answer" in cell.source:
            continue
        if "summarize_checks" in cell.source:
            continue
        # IPython magics (the install cell's %pip) become no-ops
        code = re.sub(r"^(\s*)%.*$", r"\1pass", cell.source, flags=re.M)
        exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - the teacher's code
    filled = []

    def fingerprint(match: re.Match[str]) -> str:
        digits = re.search(r"digits=(\d+)", match.group("rest"))
        value = namespace[match.group("name")]
        task = match.group("task")
        filled.append(task)
        new = teaching.answer_hash(task, value, int(digits.group(1)) if digits else None)
        return match.group(0).replace(f'"{match.group("hash")}"', f'"{new}"', 1)

    text = _CHECK_CALL.sub(fingerprint, path.read_text())
    path.write_text(text)
    jupytext_command = Path(sys.executable).parent / "jupytext"
    subprocess.run([str(jupytext_command), "--update", "--to", "ipynb", str(path)], check=True)
    return filled


# ------------------------------------------------------------------ student edition
def _toc_pages(root: Path = REPO_ROOT) -> list[str]:
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entries: Iterable[dict[str, Any]]) -> list[str]:
        files: list[str] = []
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            files += walk(entry.get("sections", []))
        return files

    return [toc["root"], *(f for part in toc.get("parts", []) for f in walk(part["chapters"]))]


def write_student_sources(root: Path, executed: Path | None = None) -> list[str]:
    """Copy the book's configuration and sources into ``root``, without solutions.

    Each executable page whose executed notebook is in ``executed`` is replaced by that
    notebook, stripped (the page is then rendered, not executed). Returns the pages that
    were replaced.
    """
    import yaml

    shutil.copy(REPO_ROOT / "_toc.yml", root / "_toc.yml")
    shutil.copytree(
        REPO_ROOT / "book",
        root / "book",
        ignore=shutil.ignore_patterns("*.ipynb", "_ext", "__pycache__", ".ipynb_checkpoints"),
    )
    replaced = []
    for source in sorted((root / "book").rglob("*.md")):
        assignment = source.parent.name == ASSIGNMENTS
        # only the executable pages directly in book/ have executed twins: an API page
        # such as book/api/bandits.md shares its chapter's file name, not its notebook
        executable = source.parent == root / "book" and "kernelspec" in source.read_text()[:600]
        notebook = executed / f"{source.stem}.ipynb" if executed and executable else None
        if notebook is not None and notebook.exists() and not assignment:
            stripped = source.with_suffix(".ipynb")
            strip_source(notebook, stripped, assignment)
            source.unlink()
            replaced.append(str(source.relative_to(root).with_suffix("")))
        else:
            if executed and not assignment and "kernelspec" in source.read_text()[:600]:
                print(f"{source.name}: no executed notebook in {executed}; shown without outputs")
            strip_source(source, source, assignment)
    # links to a replaced page by file name ("cuped.md") now point to its notebook
    if replaced:
        stems = "|".join(re.escape(Path(page).name) for page in replaced)
        link = re.compile(r"\]\(((?:[^()\s]*/)?(?:" + stems + r"))\.md([#)])")
        # in the remaining pages and in the replaced notebooks' own markdown cells
        pages = [*(root / "book").rglob("*.md"), *(root / "book").rglob("*.ipynb")]
        for page in pages:
            text = page.read_text()
            if link.search(text):
                page.write_text(link.sub(r"](\1.ipynb\2", text))
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    config["title"] = f"{config['title']} (student edition)"
    if replaced:
        config["execute"]["execute_notebooks"] = "off"
        config["exclude_patterns"] = [
            p for p in config["exclude_patterns"] if not p.endswith("*.ipynb")
        ]
    else:  # every chapter executes; the assignments' stubs are not run
        config["execute"]["exclude_patterns"] = [f"book/{ASSIGNMENTS}/*"]
    # the launch buttons and the repository link would open the teacher's notebooks
    config["launch_buttons"] = {"notebook_interface": "jupyterlab"}
    config["html"]["use_repository_button"] = False
    extensions = config.get("sphinx", {}).get("local_extensions", {})
    for name, folder in extensions.items():
        extensions[name] = str(REPO_ROOT / folder)
    (root / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return replaced


def solution_lines(path: Path, minimum: int = 25) -> set[str]:
    """The lines of ``path``'s solutions (a MyST page) that appear nowhere else on the
    page, stripped, of at least ``minimum`` characters (short lines such as ``)`` recur);
    an assignment's stub keeps its solution cells' comments, so those are not counted."""
    import jupytext

    text = path.read_text()
    if "kernelspec" in text[:600]:
        notebook = jupytext.reads(text, fmt="md:myst")
        student = strip_notebook(notebook, assignment=path.parent.name == ASSIGNMENTS)
        kept = jupytext.writes(student, "md:myst")
    else:
        kept = strip_solution_blocks(text)[0]
    kept_lines = {line.strip() for line in kept.splitlines()}
    return {
        line.strip()
        for line in text.splitlines()
        if len(line.strip()) >= minimum
        and line.strip() not in kept_lines
        and not line.strip().startswith(("#", ":", "```"))
    }


def find_solutions(site: Path, pages: Iterable[Path] | None = None) -> list[str]:
    """Solution text anywhere in the built edition under ``site``: a line of a page's
    solutions (:func:`solution_lines`) in that page's source copy, notebooks or HTML file
    (its text, without tags), or a solution box in any HTML page. One line per finding."""
    import html as html_module

    pages = (
        list(pages)
        if pages is not None
        else [*(REPO_ROOT / "book").glob("*.md"), *(REPO_ROOT / "book" / ASSIGNMENTS).glob("*.md")]
    )
    secrets = {page.stem: solution_lines(page) for page in pages}
    findings = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".md", ".ipynb", ".html", ".txt") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".html":
            if re.search(r'class="[^"]*\bsolution\b', text):
                findings.append(f"{path}: a solution box")
            text = html_module.unescape(re.sub(r"<[^>]+>", "", text))
        elif path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            text = "\n".join("".join(cell.get("source", "")) for cell in cells)
        lines = {line.strip() for line in text.splitlines()}
        page = path.name.split(".")[0]  # a source copy may be "page.md.txt"
        for line in sorted(secrets.get(page, set()) & lines):
            findings.append(f"{path}: a solution line {line[:70]!r}")
    return findings


def build_student(output: Path, executed: Path | None) -> Path:
    """Build the student edition into ``output``; the folder of its HTML."""
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jupyter_book is None:
        raise SystemExit("jupyter-book is not installed (pip install -e '.[book]')")
    with tempfile.TemporaryDirectory(prefix="student-edition-") as tree:
        root = Path(tree)
        replaced = write_student_sources(root, executed)
        print(f"student sources in {root} ({len(replaced)} pages from executed notebooks)")
        if output.exists():
            shutil.rmtree(output)
        command = [jupyter_book, "build", str(root), "--path-output", str(output)]
        result = subprocess.run([*command, "-W", "-n", "--keep-going"], cwd=root)
        if result.returncode != 0:
            raise SystemExit("the student edition did not build")
    notebooks = write_student_notebooks(output / "notebooks")
    html = output / "_build" / "html"
    findings = find_solutions(output)
    if findings:
        print("\n".join(findings[:40]), file=sys.stderr)
        raise SystemExit(f"the student edition holds solution text ({len(findings)} findings)")
    print("no solution text in the student edition (page sources, notebooks and HTML)")
    print(f"student edition: {html / 'index.html'}")
    print(f"student notebooks: {', '.join(str(path) for path in notebooks)}")
    return html


def write_student_notebooks(folder: Path) -> list[Path]:
    """Write each assignment's student version to ``folder`` as a notebook to hand out."""
    import jupytext
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((REPO_ROOT / "book" / ASSIGNMENTS).glob("*.md")):
        notebook = strip_notebook(jupytext.read(source), assignment=True)
        notebook.metadata.pop("jupytext", None)
        path = folder / f"{source.stem}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- PDF
PRINT_CSS = """
<style media="print">
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article,
.prev-next-area, .header-article, .bd-header-announcement, #pst-back-to-top,
.toggle-button, .headerlink { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
img { max-width: 100% !important; height: auto !important; break-inside: avoid; }
div.cell_output img { width: 100% !important; }
pre { white-space: pre-wrap !important; word-break: break-all; }
h1, h2, h3 { break-after: avoid; }
div.cell_input, div.cell_output, div.admonition { break-inside: avoid; }
table { break-inside: avoid; font-size: 85%; }
</style>
"""
_MATHJAX_SCRIPT = re.compile(r'src="https?://[^"]*mathjax[^"]*\.js"')


def _page_html(html: Path, page: str) -> Path:
    path = html / f"{page}.html"
    if not path.exists():
        raise SystemExit(f"{path} is missing: build the book first")
    return path


def _chromium_driver(chromium: str):  # type: ignore[no-untyped-def]
    """One headless Chromium (Selenium) for all pages; no host but the files is reachable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(argument)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        raise SystemExit("chromedriver is missing (apt-get install chromium-driver)")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    return driver


_WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images).map((img) => img.decode().catch(() => null));
const maths = window.MathJax && MathJax.startup ? MathJax.startup.promise : null;
Promise.all([...images, maths]).then(() => done("ok"), (error) => done("error: " + error));
"""


def print_pages(
    html: Path, output: Path, mathjax: Path | None = None, pages: list[str] | None = None
) -> int:
    """Print the toc pages (or ``pages``) of the site in ``html`` into one PDF ``output``,
    each page on new sheets, with a bookmark per page; the number of sheets."""
    import base64
    import io

    from pypdf import PdfReader, PdfWriter
    from selenium.webdriver.common.print_page_options import PrintOptions

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is missing (apt-get install chromium)")
    pages = pages if pages is not None else _toc_pages()
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7  # A4, in cm
    options.margin_top = options.margin_bottom = 1.4
    options.margin_left = options.margin_right = 1.2
    options.background = True
    with tempfile.TemporaryDirectory(prefix="book-pdf-") as work:
        site = Path(work) / "site"
        shutil.copytree(html, site)
        if mathjax is not None:
            shutil.copytree(mathjax, site / "_static" / "mathjax-local", dirs_exist_ok=True)
        writer = PdfWriter()
        driver = _chromium_driver(chromium)
        try:
            for page in pages:
                source = _page_html(site, page)
                text = source.read_text()
                if mathjax is not None:
                    local = os.path.relpath(site / "_static" / "mathjax-local", source.parent)
                    text = _MATHJAX_SCRIPT.sub(f'src="{local}/tex-chtml.js"', text)
                source.write_text(text.replace("</head>", PRINT_CSS + "</head>", 1))
                driver.get(source.as_uri())
                driver.execute_async_script(_WAIT_FOR_PAGE)
                pdf = base64.b64decode(driver.print_page(options))
                reader = PdfReader(io.BytesIO(pdf))
                first = len(writer.pages)
                for sheet in reader.pages:
                    writer.add_page(sheet)
                writer.add_outline_item(driver.title.split("\u2014")[0].strip() or page, first)
                print(f"{page}: {len(reader.pages)} pages")
        finally:
            driver.quit()
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "wb") as handle:
            writer.write(handle)
        figures = sum(
            len(re.findall(r'<img [^>]*src="[^"]*_images/', _page_html(html, page).read_text()))
            for page in pages
        )
    count, images = count_pages_and_images(output)
    print(f"{output}: {count} pages, {images} images ({figures} in the HTML pages)")
    if count == 0 or images < figures:
        raise SystemExit(f"{output}: {count} pages and {images} of {figures} images")
    return count


def count_pages_and_images(path: Path) -> tuple[int, int]:
    """Sheets of the PDF at ``path`` and the images drawn on them (image XObjects, counted
    per sheet, without decoding them)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    images = 0
    for sheet in reader.pages:
        resources = sheet.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        for item in xobjects.values():
            images += item.get_object().get("/Subtype") == "/Image"
    return len(reader.pages), images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="build the student edition")
    student.add_argument("--executed", type=Path, default=None)
    student.add_argument("--output", type=Path, default=REPO_ROOT / "_build" / "student")
    pdf = commands.add_parser("pdf", help="print the built book to one PDF")
    pdf.add_argument("--html", type=Path, default=REPO_ROOT / "_build" / "html")
    pdf.add_argument("--output", type=Path, default=REPO_ROOT / "_build" / "pdf" / "book.pdf")
    pdf.add_argument("--mathjax", type=Path, default=os.environ.get("PLAYBOOK_MATHJAX_DIR"))
    hashes = commands.add_parser(
        "fingerprints", help="write the self-checks' fingerprints of an assignment"
    )
    hashes.add_argument("assignments", type=Path, nargs="+")
    arguments = parser.parse_args(argv)
    if arguments.command == "fingerprints":
        for path in arguments.assignments:
            print(f"{path}: {', '.join(fill_fingerprints(path))}")
    elif arguments.command == "student":
        executed = arguments.executed
        if executed is None and os.environ.get("PLAYBOOK_EXECUTED_NOTEBOOKS"):
            executed = Path(os.environ["PLAYBOOK_EXECUTED_NOTEBOOKS"])
        build_student(arguments.output.resolve(), executed)
    else:
        mathjax = Path(arguments.mathjax) if arguments.mathjax else None
        print_pages(arguments.html.resolve(), arguments.output.resolve(), mathjax)


if __name__ == "__main__":
    main()
