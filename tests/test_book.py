"""The book as a whole: chapter pairing, no committed outputs, README/CI agreement, and a
warnings-as-errors build of the rendered book (execution off: nbmake executes chapters)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from conftest import BOOK_DIR, REPO_ROOT

NOTEBOOK_SOURCES = sorted(
    path for path in BOOK_DIR.glob("*.md") if "kernelspec" in path.read_text()[:600]
)


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_every_toc_page_exists() -> None:
    for stem in _toc_files():
        assert (REPO_ROOT / f"{stem}.md").exists(), f"{stem}.md is in _toc.yml but missing"


def test_every_chapter_is_a_paired_notebook() -> None:
    """Chapters are found, not listed: every executable page (a MyST notebook, with a
    kernelspec) is in the toc and has its paired ``.ipynb``; adding a chapter touches only
    the chapter, its bibliography and ``_toc.yml``."""
    chapters = set(_toc_files())
    assert len(NOTEBOOK_SOURCES) >= 9, "the book has lost chapters"
    for source in NOTEBOOK_SOURCES:
        stem = f"book/{source.stem}"
        assert stem in chapters, f"{stem} is a chapter notebook but not in _toc.yml"
        assert source.with_suffix(".ipynb").exists(), f"{stem}.ipynb is missing"


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda path: path.stem)
def test_markdown_and_notebook_agree(source: Path) -> None:
    notebook_path = source.with_suffix(".ipynb")
    assert notebook_path.exists(), f"{source.name} has no paired {notebook_path.name}"
    from_markdown = jupytext.read(source)
    from_notebook = nbformat.read(notebook_path, as_version=4)
    assert _cells(from_markdown) == _cells(from_notebook), (
        f"{source.name} and {notebook_path.name} differ: run `jupytext --sync {source}`"
    )


@pytest.mark.parametrize(
    "notebook_path", sorted(BOOK_DIR.glob("*.ipynb")), ids=lambda path: path.stem
)
def test_notebook_carries_no_outputs(notebook_path: Path) -> None:
    notebook = json.loads(notebook_path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{notebook_path.name} cell {index} has outputs"
            assert cell.get("execution_count") is None, (
                f"{notebook_path.name} cell {index} has an execution count"
            )


CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda path: path.stem)
def test_citations_use_the_chapter_key_prefix(source: Path) -> None:
    """Each chapter lists its own references: sphinxcontrib-bibtex needs a per-document
    ``:keyprefix:`` (and ``:labelprefix:``) when one work is cited by several chapters, and
    every ``{cite}`` key on the page must carry that prefix (``{cite}`cuped-lin2013agnostic```)."""
    text = source.read_text()
    prefix = f"{source.stem}-"
    keys = [key.strip() for group in CITE_ROLE.findall(text) for key in group.split(",")]
    assert keys, f"{source.name} cites nothing"
    unprefixed = [key for key in keys if not key.startswith(prefix)]
    assert not unprefixed, f"{source.name}: cite keys without the {prefix!r} prefix: {unprefixed}"
    block = re.search(r"```\{bibliography\}\n((?::[a-z]+:.*\n)*)```", text)
    assert block, f"{source.name} has no bibliography block"
    assert f":keyprefix: {prefix}" in block.group(1)
    assert ":labelprefix:" in block.group(1)


def _readme_commands() -> dict[str, str]:
    readme = (REPO_ROOT / "README.md").read_text()
    commands = {}
    for name in ("build", "test"):
        match = re.search(rf"<!-- {name}-command -->\s*```(?:bash)?\n(.+?)\n```", readme, re.S)
        assert match, f"README.md lacks the marked {name} command"
        commands[name] = match.group(1).strip()
    return commands


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    commands = _readme_commands()
    assert "jupyter-book build" in commands["build"]
    assert "pytest" in commands["test"]
    ci_script = (REPO_ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci_script, ".ci/run must take the test command from README.md"


@pytest.mark.xdist_group("book-build")
@pytest.mark.timeout(900)
def test_book_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    """Render every page with -W -n --keep-going; execution is off (nbmake ran the chapters)."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # The copy lives elsewhere: its local extensions' folders must stay the repository's.
    extensions = config.get("sphinx", {}).get("local_extensions", {})
    for name, folder in extensions.items():
        extensions[name] = str(REPO_ROOT / folder)
    config_path = tmp_path / "_config.yml"
    config_path.write_text(yaml.safe_dump(config))
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jupyter_book, "jupyter-book is not installed (pip install -e '.[book]')"
    result = subprocess.run(
        [
            jupyter_book,
            "build",
            str(REPO_ROOT),
            "--path-output",
            str(tmp_path / "out"),
            "--config",
            str(config_path),
            "-W",
            "-n",
            "--keep-going",
            "--all",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=900,
    )
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "book build failed:\n" + "\n".join(warnings or [log[-4000:]])


# Internal material a reader never sees: our source notes and their list of known mistakes.
# (Random-number seeds are fine: `rng(seed)`, `_seed_from`, `RANDOM_SEED`.)
INTERNAL_WORDS = re.compile(
    r"seed notes?\b|the seed\b|the seed's|(?<![\w.])seed_(?!from\b)[a-z]\w*"
    r"|[a-z] \(seed\)|errat(?:a|um)",
    re.IGNORECASE,
)
READER_FILES = sorted(
    [*BOOK_DIR.glob("*.md"), REPO_ROOT / "README.md", *(REPO_ROOT / "playbook_lib").rglob("*.py")]
)


@pytest.mark.parametrize("path", READER_FILES, ids=lambda path: path.name)
def test_no_internal_words_reach_a_reader(path: Path) -> None:
    """Pages, the package and its docstrings name mistakes themselves, never our notes."""
    hits = [
        f"line {number}: {line.strip()[:90]}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNAL_WORDS.search(line)
    ]
    assert not hits, f"{path.name} mentions internal material:\n" + "\n".join(hits)


FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")


def _fenced_code_lines(markdown: str) -> list[str]:
    """Lines inside fenced code blocks (```python, ```sql, a bare ```, {code-block}) of a
    Markdown cell. Directive fences (```{solution}, ```{admonition}) are not code: they
    are tracked so that their closing fence is not taken for a code block's opening."""
    lines: list[str] = []
    directives: list[str] = []
    code_fence = None
    for line in markdown.splitlines():
        stripped = line.strip()
        if code_fence is not None:
            if stripped == code_fence:
                code_fence = None
            else:
                lines.append(line)
            continue
        match = FENCE.match(stripped)
        if not match:
            continue
        fence, info = match.group(1), match.group(2).strip()
        if info.startswith("{") and not info.startswith(("{code-block}", "{code}")):
            directives.append(fence)
        elif not info and directives and directives[-1] == fence:
            directives.pop()
        else:
            code_fence = fence
    return lines


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda path: path.stem)
def test_chapter_code_fits_the_content_column(source: Path) -> None:
    """Code lines stay within 79 characters (the content column fits 79 at 1280 px with the
    book's code font, book/_static/playbook.css): code cells and code blocks in the prose
    (solutions' code, SQL) alike."""
    notebook = jupytext.read(source)
    long_lines = [
        line
        for cell in notebook.cells
        for line in (
            cell.source.splitlines()
            if cell.cell_type == "code"
            else _fenced_code_lines(cell.source)
        )
        if len(line) > 79
    ]
    assert not long_lines, (
        f"{source.name}: {len(long_lines)} code lines over 79 characters:\n"
        + "\n".join(long_lines[:10])
    )


DRAWS_A_FIGURE = re.compile(
    r"\bplt\.|\baz\.plot_|\.subplots\("
    r"|\bax\w*\.(?:plot|scatter|bar|hist|fill_between|errorbar|imshow)\("
)


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda path: path.stem)
def test_every_figure_has_alt_text(source: Path) -> None:
    """A code cell that draws a figure carries a one-sentence alt text for screen readers
    (MyST-NB's ``mystnb: image: alt:`` cell metadata); hidden cells draw nothing."""
    notebook = jupytext.read(source)
    missing = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not DRAWS_A_FIGURE.search(cell.source):
            continue
        tags = set(cell.metadata.get("tags", []))
        if tags & {"remove-cell", "remove-output"}:
            continue
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        if len(str(alt).split()) < 5:
            missing.append(cell.source.strip().splitlines()[0][:70])
    assert not missing, f"{source.name}: figures without alt text:\n" + "\n".join(missing)
