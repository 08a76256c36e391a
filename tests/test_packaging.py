"""The package as a reader installs it: one version, one repository URL, the chapters'
install cells, shipped data, and an import that prints nothing on a fresh machine."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import jupytext
import pytest
import yaml
from conftest import BOOK_DIR, REPO_ROOT, fresh_user_directories

import playbook_lib

CHAPTERS = sorted(path for path in BOOK_DIR.glob("*.md") if "kernelspec" in path.read_text()[:600])
CONFIG = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
REPOSITORY_URL = CONFIG["repository"]["url"]
VERSION = playbook_lib.__version__
INSTALL_CELL = (
    "# In Colab or another fresh environment, install the book's package first.\n"
    "import importlib.util\n"
    "\n"
    'if importlib.util.find_spec("playbook_lib") is None:\n'
    f'    %pip install --quiet "experimentation-playbook=={VERSION}"'
)


def test_the_version_has_one_source_and_every_copy_agrees() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "playbook_lib.__version__"
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == VERSION
    assert CONFIG["parse"]["myst_substitutions"]["version"] == VERSION
    binder = (REPO_ROOT / "binder" / "requirements.txt").read_text()
    assert f"experimentation-playbook=={VERSION}" in binder.splitlines()
    assert f"## [{VERSION}]" in (REPO_ROOT / "CHANGELOG.md").read_text()


def test_every_link_to_the_repository_is_the_configured_one() -> None:
    assert REPOSITORY_URL.startswith("https://github.com/")
    assert "<" not in REPOSITORY_URL and "example" not in REPOSITORY_URL
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"]["Source"] == REPOSITORY_URL
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    assert citation["repository-code"] == REPOSITORY_URL
    # Links to other projects are fine; a link to this project's owner must be the URL above.
    owner = REPOSITORY_URL.removeprefix("https://github.com/").split("/")[0]
    ours = re.compile(rf"https://github\.com/{re.escape(owner)}/[\w.-]+")
    for path in [
        REPO_ROOT / "README.md",
        REPO_ROOT / "pyproject.toml",
        REPO_ROOT / "CITATION.cff",
        *BOOK_DIR.glob("*.md"),
    ]:
        for url in ours.findall(path.read_text()):
            assert url.rstrip(".") == REPOSITORY_URL, f"{path.name} links to {url}"
    assert "<repository URL>" not in (BOOK_DIR / "intro.md").read_text()


def test_the_launch_buttons_are_configured() -> None:
    buttons = CONFIG["launch_buttons"]
    assert buttons["colab_url"] == "https://colab.research.google.com"
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["repository"]["branch"] == "main"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda path: path.stem)
def test_the_first_code_cell_installs_the_package_only_when_missing(source: Path) -> None:
    notebook = jupytext.read(source)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    first = code_cells[0]
    assert first.source.strip() == INSTALL_CELL, f"{source.name}: first code cell"
    # Hidden in the HTML (the rendered page), visible in the notebook a reader opens.
    assert first.metadata.get("tags") == ["remove-cell"]
    paired = jupytext.read(source.with_suffix(".ipynb"))
    assert [cell for cell in paired.cells if cell.cell_type == "code"][0].source.strip() == (
        INSTALL_CELL
    )
    assert not any("%pip" in cell.source or "!pip" in cell.source for cell in code_cells[1:])


BAYESIAN_STACK = re.compile(r"^\s*(?:import|from)\s+(arviz|pymc|nutpie)\b", re.M)
IMPORTS_HBM = re.compile(
    r"^\s*(?:from playbook_lib import .*\bhbm\b|import playbook_lib\.hbm)", re.M
)


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda path: path.stem)
def test_no_cell_imports_arviz_before_the_package_quiets_it(source: Path) -> None:
    """ArviZ warns once a day at import; ``playbook_lib.hbm`` imports it under a filter for
    exactly that message, so a chapter may import ArviZ, PyMC or nutpie only after hbm."""
    hbm_imported = False
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code":
            continue
        hbm_imported = hbm_imported or bool(IMPORTS_HBM.search(cell.source))
        match = BAYESIAN_STACK.search(cell.source)
        if match and not hbm_imported:
            pytest.fail(f"{source.name} imports {match.group(1)} before playbook_lib.hbm")


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    with fresh_user_directories():
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=300,
            cwd=REPO_ROOT,
        )


def test_arviz_announces_its_refactor_on_a_fresh_machine_but_not_through_the_package() -> None:
    bare = _fresh_python("import arviz")
    quiet = _fresh_python(
        "import playbook_lib as pl\n"
        "for name in pl.__all__:\n"
        "    getattr(pl, name)\n"
        "import arviz, nutpie, pymc\n"
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", f"importing playbook_lib wrote to stderr:\n{quiet.stderr}"
    assert quiet.stdout == ""
    # The premise of the filter: without it, a fresh machine does print the notice (if a
    # later ArviZ stops printing it, the filter is harmless and this part is vacuous).
    if bare.stderr:
        assert "ArviZ is undergoing a major refactor" in bare.stderr


PROP99_SHA256 = "6e73bc3448bae5c3cc0c1352cba4ac64c8ff09f0f94fa65dbb6b725277fd622e"


def test_the_shipped_prop99_file_is_the_checked_one() -> None:
    data = resources.files("playbook_lib.datasets").joinpath("data", "california_prop99.csv")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == PROP99_SHA256
    panel = playbook_lib.datasets.load_california_prop99()
    assert panel.shape == (39 * 31, 4) and panel["state"].nunique() == 39
    assert panel["year"].min() == 1970 and panel["year"].max() == 2000
    california = panel[panel["state"] == "California"].set_index("year")["cigsale"]
    # Abadie, Diamond & Hainmueller (2010), Figure 1: California's sales, packs per capita.
    assert california[1970] == 123.0 and california[1988] == 90.1 and california[2000] == 41.6
    assert panel["treated"].sum() == 12


def test_the_package_is_typed_and_licensed() -> None:
    assert (REPO_ROOT / "playbook_lib" / "py.typed").exists()
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "MIT License" in (REPO_ROOT / "LICENSE").read_text()
    assert "causalpy" not in " ".join(pyproject["project"]["dependencies"])
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert package_data["playbook_lib"] == ["py.typed", "data/*.json"]
    assert package_data["playbook_lib.datasets"] == ["data/*.csv", "data/*_SOURCE.md"]


def test_python_versions_are_declared_and_tested() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.11"
    classifiers = pyproject["project"]["classifiers"]
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "find-python 3.13" in ci and "colab-smoke" in ci and "floors.py --check" in ci
