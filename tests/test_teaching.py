"""The course: the self-check helper (``playbook_lib.teaching``), the eight assignments, the
student edition's stripping of solutions (``book/_ext/editions.py``), the course table on
the landing page and the README's commands for the two editions.

The assignments' teacher's versions are executed by nbmake with the chapters (they live in
``book/assignments/``); the student edition is built for real, and grepped for solution
text, by ``.ci/run``. Here everything is read as text: fast.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from conftest import BOOK_DIR, REPO_ROOT

from playbook_lib import teaching

sys.path.insert(0, str(BOOK_DIR / "_ext"))
import editions  # noqa: E402

ASSIGNMENT_DIR = BOOK_DIR / "assignments"
ASSIGNMENTS = sorted(ASSIGNMENT_DIR.glob("week*.md"))
CHAPTERS = sorted(path for path in BOOK_DIR.glob("*.md") if "kernelspec" in path.read_text()[:600])
# pages with no exercises (the reference pages that are notebooks)
NO_SOLUTIONS = {"performance", "recipes", "validation"}
CHECK = re.compile(
    r'teaching\.check_answer\(\s*"(?P<task>[^"]+)",\s*(?P<name>answer_\w+),\s*'
    r'"(?P<fingerprint>[^"]*)"(?P<rest>[^)]*)\)'
)


@functools.cache
def _parsed(path: Path) -> nbformat.NotebookNode:
    # the paired .ipynb: the same cells (test_book and the pairing test below check) and
    # ten times faster to read than the MyST source
    return nbformat.read(path.with_suffix(".ipynb"), as_version=4)


def _read(path: Path) -> nbformat.NotebookNode:
    """The notebook of the MyST page at ``path`` (read once per session; a copy)."""
    return copy.deepcopy(_parsed(path))


# ------------------------------------------------------------------ the helper
def test_answer_hash_is_sha256_of_the_task_and_the_rounded_answer() -> None:
    """The fingerprint is reproducible outside the package (an independent hashlib call)."""
    expected = hashlib.sha256(b"week1-task2:-0.0125").hexdigest()[:16]
    assert teaching.answer_hash("week1-task2", -0.012534, 4) == expected
    assert teaching.answer_hash("t", 147_083) == hashlib.sha256(b"t:147083").hexdigest()[:16]
    assert (
        teaching.answer_hash("t", " Roll  Back ") == hashlib.sha256(b"t:roll back").hexdigest()[:16]
    )
    assert teaching.answer_hash("t", True) == hashlib.sha256(b"t:true").hexdigest()[:16]
    # the task salts the hash; -0.0 and 0.0 are one answer
    assert teaching.answer_hash("a", 1.5, 1) != teaching.answer_hash("b", 1.5, 1)
    assert teaching.answer_hash("t", -0.00001, 3) == teaching.answer_hash("t", 0.0, 3)


def test_check_answer_accepts_one_unit_in_the_last_decimal_and_no_more() -> None:
    fingerprint = teaching.answer_hash("task", 0.1235, 4)
    assert teaching.check_answer("task", 0.12351, fingerprint, digits=4)
    assert teaching.check_answer("task", 0.1234, fingerprint, digits=4)  # one unit below
    assert teaching.check_answer("task", 0.1236, fingerprint, digits=4)  # one unit above
    for wrong in (0.1233, 0.1237, -0.1235, 1.235):
        result = teaching.check_answer("task", wrong, fingerprint, digits=4)
        assert not result and result.status == "incorrect"
        assert "0.123" not in result.message and "4 decimals" in result.message
    assert not teaching.check_answer("task", 0.1234, fingerprint, digits=4, tolerance=0)
    integer = teaching.answer_hash("n", 147_083)
    assert teaching.check_answer("n", 147_083, integer, tolerance=0)
    assert not teaching.check_answer("n", 147_084, integer, tolerance=0)
    word = teaching.answer_hash("w", "ship")
    assert teaching.check_answer("w", "SHIP ", word)
    assert not teaching.check_answer("w", "hold", word)


def test_unanswered_tasks_and_the_score_table() -> None:
    fingerprint = teaching.answer_hash("score-a", 2.5, 1)
    assert teaching.check_answer("score-a", ..., fingerprint, digits=1).status == "unanswered"
    assert teaching.check_answer("score-b", None, fingerprint, digits=1).status == "unanswered"
    html = teaching.check_answer("score-a", 2.5, fingerprint, digits=1)._repr_html_()
    assert "correct" in html and "2.5" not in html
    table = teaching.summarize_checks().set_index("task")["status"]
    assert table["score-a"] == "correct" and table["score-b"] == "unanswered"


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        (("", 1.0, "0" * 16), "task"),
        (("t", float("nan"), "0" * 16), "answer"),
        (("t", [1.0], "0" * 16), "answer"),
        (("t", 1.5, "0" * 16, None), "digits"),
        (("t", 1.5, "12345"), "expected"),
        (("t", 1.5, "0" * 16, 1, -1), "tolerance"),
    ],
)
def test_bad_input_raises_naming_the_argument(arguments: tuple, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        teaching.check_answer(*arguments)


# -------------------------------------------------------------- the assignments
def _toc_files() -> list[str]:
    return editions._toc_pages(REPO_ROOT)


def test_eight_assignments_in_the_toc_and_paired() -> None:
    assert [path.stem for path in ASSIGNMENTS] == [f"week{week}" for week in range(1, 9)]
    toc = _toc_files()
    for path in ASSIGNMENTS:
        assert f"book/assignments/{path.stem}" in toc, f"{path.stem} is not in _toc.yml"
        notebook = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
        cells = [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]
        expected = [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]
        assert cells == expected, f"run jupytext --update --to ipynb {path}"
        raw = json.loads(path.with_suffix(".ipynb").read_text())
        assert not any(cell.get("outputs") for cell in raw["cells"]), f"{path.stem} has outputs"
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert "book/assignments/*.ipynb" in config["exclude_patterns"]


def _first_code_cell(path: Path) -> str:
    notebook = _read(path)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda path: path.stem)
def test_assignment_follows_the_rules(path: Path) -> None:
    """Install cell as the chapters'; 3-5 tasks, each a tagged solution cell assigning an
    ``answer_`` name that only a self-check with a filled fingerprint reads; a written
    exercise; the score table; the teacher's assert on it; pages' rules (79 columns, no
    internal words)."""
    assert _first_code_cell(path) == _first_code_cell(BOOK_DIR / "foundations.md")
    notebook = _read(path)
    text = path.read_text()
    checks = list(CHECK.finditer(text))
    assert 3 <= len(checks) <= 5, f"{path.stem}: {len(checks)} self-checks"
    for number, match in enumerate(checks, 1):
        assert match.group("task") == f"{path.stem}-task{number}"
        assert match.group("name") == f"answer_{number}"
        assert re.fullmatch(r"[0-9a-f]{16}", match.group("fingerprint")), match.group(0)
    solution_names: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or not editions.is_solution_cell(cell):
            continue
        solution_names |= set(editions._answer_names(cell.source))
        # folded in the teacher's edition, as the chapters' solutions are
        assert {"hide-cell", "remove-cell"} & set(cell.metadata["tags"]), cell.source[:60]
    assert solution_names == {f"answer_{n}" for n in range(1, len(checks) + 1)}
    for cell in notebook.cells:
        if cell.cell_type != "code" or editions.is_solution_cell(cell) or "%pip" in cell.source:
            continue
        used = {node.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Name)}
        leaked = {n for n in used & solution_names if "check_answer" not in cell.source}
        assert not leaked, f"{path.stem}: a non-solution cell uses {leaked}"
    assert "{exercise}" in text and "{solution}" in text
    assert "teaching.summarize_checks()" in notebook.cells[-2].source
    last = notebook.cells[-1]
    assert editions.is_solution_cell(last) and "remove-cell" in last.metadata["tags"]
    assert f"len(checks) == {len(checks)}" in last.source
    long_lines = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > 79
    ]
    assert not long_lines, long_lines
    import test_book

    assert not test_book.INTERNAL_WORDS.search(text)


# ----------------------------------------------------------- the student edition
def _solution_lines(path: Path) -> list[str]:
    """Distinctive lines of a page's solutions: inside ``{solution}`` and gated blocks and
    in cells tagged ``solution``, at least 25 characters (short lines such as ``)`` recur
    elsewhere)."""
    lines: list[str] = []
    inside = None
    for cell in _read(path).cells:
        if editions.is_solution_cell(cell):
            body = cell.source.splitlines()
            comments = {line for line in body if line.startswith("#")}
            lines += [line for line in body if line not in comments]
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if inside is None and re.match(r"^(`{3,}|:{3,})\{solution(-start)?\}", stripped):
                inside = "gated" if "solution-start" in stripped else stripped.split("{")[0]
                continue
            if inside == "gated" and stripped.startswith("```{solution-end}"):
                inside = None
            elif inside not in (None, "gated") and stripped == inside:
                inside = None
            elif inside is not None and not stripped.startswith(":class:"):
                lines.append(line)
    return [line.strip() for line in lines if len(line.strip()) >= 25]


@pytest.mark.parametrize("path", [*CHAPTERS, *ASSIGNMENTS], ids=lambda path: path.stem)
def test_student_version_keeps_everything_but_the_solutions(path: Path) -> None:
    assignment = path.parent == ASSIGNMENT_DIR
    original = _read(path)
    student = editions.strip_notebook(original, assignment=assignment)
    text = jupytext.writes(student, "md:myst")
    assert "{solution" not in text
    assert not any(editions.is_solution_cell(cell) for cell in student.cells)
    outside = "\n".join(
        cell.source for cell in original.cells if _outside_solutions(cell, original)
    )
    # a solution may repeat a line of the page (a helper, a call): only its own lines count
    own = [line for line in _solution_lines(path) if line not in outside]
    assert own or path.stem in NO_SOLUTIONS, f"{path.stem}: no solution found to strip"
    leaked = [line for line in own if line in text]
    assert not leaked, f"{path.stem}: solution text left:\n" + "\n".join(leaked[:5])
    # every exercise and every cell outside a solution is still there, in order
    assert text.count("{exercise}") == path.read_text().count("{exercise}")
    kept = [cell.source for cell in student.cells]
    position = 0
    for cell in original.cells:
        if _outside_solutions(cell, original):
            assert cell.source in kept[position:], f"{path.stem} lost: {cell.source[:80]}"
            position = kept.index(cell.source, position) + 1
    if assignment:
        stubs = [cell for cell in student.cells if "= ..." in cell.source]
        assert [editions._answer_names(cell.source) for cell in stubs] == [
            [f"answer_{n}"] for n in range(1, len(stubs) + 1)
        ]
        for cell in stubs:
            compile(cell.source, path.name, "exec")
            assert cell.source.startswith("# Your code here")
            assert "tags" not in cell.metadata, cell.metadata


def _outside_solutions(cell: nbformat.NotebookNode, notebook: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is prose or code outside every solution (decided independently of
    the stripping code: by the gated blocks' fences and the tags)."""
    if editions.is_solution_cell(cell):
        return False
    index = notebook.cells.index(cell)
    opened = closed = 0
    exercise_seen = False
    for earlier in notebook.cells[:index]:
        opened += earlier.source.count("{solution-start}")
        closed += earlier.source.count("{solution-end}")
        exercise_seen |= "{exercise}" in earlier.source
    if opened > closed:
        return False
    if cell.cell_type == "markdown":
        return "{solution" not in cell.source and "{exercise}" not in cell.source
    tags = cell.metadata.get("tags", [])
    return not (exercise_seen and "remove-cell" in tags)


def test_stripping_handles_nested_fences_and_gated_blocks() -> None:
    text = (
        "Intro.\n\n"
        "````{solution} ex-1\n:class: dropdown\nSecret one.\n```python\nx = 1\n```\n````\n\n"
        "Between.\n\n"
        "```{solution-start} ex-2\n:class: dropdown\n```\nSecret two.\n"
    )
    stripped, in_gated = editions.strip_solution_blocks(text)
    assert in_gated and "Secret" not in stripped and "x = 1" not in stripped
    assert "Intro." in stripped and "Between." in stripped
    rest, in_gated = editions.strip_solution_blocks(
        "Secret three.\n```{solution-end}\n```\nAfter.\n", True
    )
    assert not in_gated and rest.strip() == "After."
    with pytest.raises(ValueError, match="unclosed"):
        editions.strip_solution_blocks("```{solution} ex-3\nno end\n")


def test_student_sources_and_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tree the student edition builds (from a small copy of the repository: a chapter,
    an assignment and a plain page): no solution in any page, the teacher's links (launch
    buttons, repository button) off, assignments not executed; with executed notebooks, the
    chapter is its stripped executed notebook and links to it follow."""
    repository = tmp_path / "repository"
    (repository / "book" / "assignments").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO_ROOT / name, repository / name)
    for page in ("geo_did.md", "teaching.md", "assignments/week1.md", "assignments/week1.ipynb"):
        shutil.copy(BOOK_DIR / page, repository / "book" / page)
    (repository / "book" / "links.md").write_text("See [the chapter](geo_did.md).\n")
    (repository / "book" / "api").mkdir()
    (repository / "book" / "api" / "geo_did.md").write_text("# `playbook_lib.geo`\n")
    monkeypatch.setattr(editions, "REPO_ROOT", repository)
    tree = tmp_path / "tree"
    tree.mkdir()
    replaced = editions.write_student_sources(tree)
    assert replaced == []
    directive = re.compile(r"^\s*(`{3,}|:{3,})\{solution", re.M)
    pages = sorted((tree / "book").rglob("*.md"))
    assert len(pages) == 5
    for page in pages:
        assert not directive.search(page.read_text()), page
    assert "answer_1 = ..." in (tree / "book" / "assignments" / "week1.md").read_text()
    assert not list((tree / "book").rglob("*.ipynb"))
    config = yaml.safe_load((tree / "_config.yml").read_text())
    assert config["title"].endswith("(student edition)")
    assert "colab_url" not in config["launch_buttons"]
    assert config["html"]["use_repository_button"] is False
    assert config["execute"]["exclude_patterns"] == ["book/assignments/*"]
    teacher = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"] == teacher["sphinx"]["config"]
    # with the chapter's executed notebook (here: its unexecuted twin)
    executed = tmp_path / "executed"
    executed.mkdir()
    twin = nbformat.read(BOOK_DIR / "geo_did.ipynb", as_version=4)
    twin.cells.append(nbformat.v4.new_markdown_cell("Back to [the top](geo_did.md)."))
    nbformat.write(twin, executed / "geo_did.ipynb")
    shutil.copy(BOOK_DIR / "assignments" / "week1.ipynb", executed / "week1.ipynb")
    shutil.rmtree(tree)
    tree.mkdir()
    assert editions.write_student_sources(tree, executed) == ["book/geo_did"]
    # an API page shares its chapter's file name, not its executed notebook
    assert (tree / "book" / "api" / "geo_did.md").exists()
    assert not (tree / "book" / "api" / "geo_did.ipynb").exists()
    chapter = nbformat.read(tree / "book" / "geo_did.ipynb", as_version=4)
    assert not any("{solution" in cell.source for cell in chapter.cells)
    # a replaced notebook's own links to replaced pages follow them too
    assert chapter.cells[-1].source == "Back to [the top](geo_did.ipynb)."
    assert not (tree / "book" / "geo_did.md").exists()
    assert (tree / "book" / "links.md").read_text() == "See [the chapter](geo_did.ipynb).\n"
    config = yaml.safe_load((tree / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert "book/*.ipynb" not in config["exclude_patterns"]


def test_the_edition_check_finds_solutions(tmp_path: Path) -> None:
    """The check the student command runs on its output (``editions.find_solutions``) finds
    a teacher's page and notebook, and passes their stripped versions."""
    pages = [BOOK_DIR / "geo_did.md", ASSIGNMENT_DIR / "week1.md"]
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    for site in (teacher, student):
        (site / "_sources").mkdir(parents=True)
    for page in pages:
        shutil.copy(page, teacher / "_sources" / page.name)
        shutil.copy(page.with_suffix(".ipynb"), teacher / page.with_suffix(".ipynb").name)
        assignment = page.parent == ASSIGNMENT_DIR
        editions.strip_source(page, student / "_sources" / page.name, assignment)
        editions.strip_source(
            page.with_suffix(".ipynb"), student / page.with_suffix(".ipynb").name, assignment
        )
    (teacher / "page.html").write_text('<div class="solution dropdown">x</div>')
    findings = editions.find_solutions(teacher, pages)
    for name in ("geo_did.md", "geo_did.ipynb", "week1.md", "week1.ipynb", "page.html"):
        assert any(f"{name}:" in finding for finding in findings), name
    assert editions.find_solutions(student, pages) == []


# ------------------------------------------------------- course page and README
def test_course_table_links_every_week() -> None:
    intro = (BOOK_DIR / "intro.md").read_text()
    chapters = ["foundations", "cuped", "geo_did", "synthetic_control", "sequential"]
    chapters += ["bandits", "hbm", "decisions"]
    for week, chapter in enumerate(chapters, 1):
        row = re.search(rf"^\| {week} \|(.+)$", intro, re.M)
        assert row, f"week {week} is missing from the course table"
        assert f"{{doc}}`{chapter}`" in row.group(1)
        assert f"<assignments/week{week}>`" in row.group(1)
        assert re.search(r"\d+(\.\d)? h \+ \d+(\.\d)? h \|\s*$", row.group(1))
        assignment = (ASSIGNMENT_DIR / f"week{week}.md").read_text()
        assert f"{{doc}}`../{chapter}`" in assignment
    guide = (BOOK_DIR / "teaching.md").read_text()
    assert "book/teaching" in _toc_files()
    example = re.search(r'check_answer\("(week1-task2)", answer_2, "([0-9a-f]{16})"', guide)
    assert example and example.group(2) in (ASSIGNMENT_DIR / "week1.md").read_text()


def test_readme_documents_the_two_editions() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "book/_ext/editions.py student" in readme
    assert "book/_ext/editions.py pdf" in readme
