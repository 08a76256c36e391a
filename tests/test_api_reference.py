"""The API reference (``book/api/``) covers the package: every public function and class is
documented on some page, under a module whose public names hold it, and every page is in
the table of contents. Fast: the pages are read as text, nothing is built (the book build in
``test_book.py`` checks that the directives render and every cross-reference resolves)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import contract
import pytest
import yaml
from conftest import BOOK_DIR, REPO_ROOT

import playbook_lib

API_DIR = BOOK_DIR / "api"
API_PAGES = sorted(API_DIR.glob("*.md"))

# ``.. name:: argument`` lines of reStructuredText (inside the pages' {eval-rst} blocks).
DIRECTIVE = re.compile(r"^\.\. (?:py:)?([a-z]+)::\s*(\S[^\n]*?)\s*$")
OPTION = re.compile(r"^\s+:([a-z-]+):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Documented:
    """One object a page documents: ``module.name`` by ``directive`` (``function``,
    ``class``, ``data``), with the signature written on the page (if any)."""

    page: str
    directive: str
    module: str
    name: str
    signature: str | None = None
    value: str | None = None


def _toc_files() -> set[str]:
    def walk(entries: list[dict[str, Any]]) -> list[str]:
        files = []
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            files += walk(entry.get("sections", []))
        return files

    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    return {toc["root"], *(f for part in toc.get("parts", []) for f in walk(part["chapters"]))}


def _import(module: str) -> ModuleType:
    return importlib.import_module(module)


def public_names(module: ModuleType) -> set[str]:
    """A module's public names: its ``__all__``; a package without one re-exports its
    submodules' ``__all__`` by star imports (``simulate``, ``datasets``)."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return set(names)
    found: set[str] = set()
    for info in pkgutil.iter_modules(getattr(module, "__path__", []), module.__name__ + "."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            found |= set(getattr(_import(info.name), "__all__", ()))
    return found


def documented(page: Path) -> list[Documented]:
    """What ``page`` documents, following ``automodule``, ``py:module`` and
    ``py:currentmodule`` as Sphinx does."""
    found: list[Documented] = []
    current: str | None = None
    lines = page.read_text().splitlines()
    for index, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if not match:
            continue
        kind, argument = match.groups()
        options: dict[str, str] = {}
        for following in lines[index + 1 :]:
            option = OPTION.match(following)
            if not option:
                break
            options[option.group(1)] = option.group(2)
        if kind in ("module", "currentmodule", "automodule"):
            current = argument
            if kind == "automodule" and "members" in options:
                listed = [n.strip() for n in options["members"].split(",") if n.strip()]
                for name in listed or sorted(public_names(_import(argument))):
                    found.append(Documented(page.name, "members", argument, name))
            continue
        if kind not in ("autofunction", "autoclass", "autodata", "data", "function", "class"):
            continue
        name, _, signature = argument.partition("(")
        module = current
        if "." in name:
            module, name = name.rsplit(".", 1)
        assert module, f"{page.name}: {kind}:: {name} comes before any module directive"
        found.append(
            Documented(
                page.name,
                kind.removeprefix("auto"),
                module,
                name,
                signature="(" + signature if signature else None,
                value=options.get("value"),
            )
        )
    return found


ALL_DOCUMENTED = [item for page in API_PAGES for item in documented(page)]


def _public_modules() -> list[ModuleType]:
    modules = []
    for info in pkgutil.walk_packages(playbook_lib.__path__, "playbook_lib."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            modules.append(_import(info.name))
    return modules


def public_classes() -> dict[str, type]:
    """Every public class of the package, by ``module.name`` (as ``public_functions``)."""
    return {
        f"{module.__name__.removeprefix('playbook_lib.')}.{name}": value
        for module in _public_modules()
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isclass(value)
        and value.__module__ == module.__name__
    }


def _covers(item: Documented, obj: Any) -> bool:
    """Whether ``item`` documents ``obj``: same name, the module holds it as that object and
    lists the name among its public names."""
    if item.name != obj.__name__:
        return False
    module = _import(item.module)
    return getattr(module, item.name, None) is obj and item.name in public_names(module)


PUBLIC_OBJECTS = {**contract.public_functions(), **public_classes()}


def test_the_api_reference_has_pages() -> None:
    assert len(API_PAGES) >= 15, "book/api/ has lost pages"
    assert len(ALL_DOCUMENTED) >= len(PUBLIC_OBJECTS)


@pytest.mark.parametrize("key", sorted(PUBLIC_OBJECTS))
def test_every_public_function_and_class_is_on_an_api_page(key: str) -> None:
    obj = PUBLIC_OBJECTS[key]
    pages = sorted({item.page for item in ALL_DOCUMENTED if _covers(item, obj)})
    assert pages, (
        f"playbook_lib.{key} is on no API page: add it to the page of the subpackage that "
        f"re-exports it (an autofunction/autoclass under its py:currentmodule) in book/api/"
    )


def test_every_documented_name_is_public() -> None:
    """A page documents only names its module lists as public (not a private helper, nor
    a name that has been removed or renamed)."""
    problems = []
    for item in ALL_DOCUMENTED:
        module = _import(item.module)
        if not hasattr(module, item.name):
            problems.append(f"{item.page}: {item.module}.{item.name} does not exist")
        elif item.name not in public_names(module):
            problems.append(f"{item.page}: {item.name} is not in {item.module}'s public names")
    assert not problems, "\n".join(problems)


def test_no_object_is_documented_twice() -> None:
    seen: dict[tuple[str, str], str] = {}
    twice = []
    for item in ALL_DOCUMENTED:
        key = (item.module, item.name)
        if key in seen:
            twice.append(f"{item.module}.{item.name} on {seen[key]} and {item.page}")
        seen[key] = item.page
    assert not twice, "\n".join(twice)


def test_signatures_written_on_a_page_match_the_code() -> None:
    """A page writes a class's signature itself only where autodoc cannot (a dataclass
    field with a ``default_factory`` shows as ``<factory>``); its parameters must be the
    class's."""
    problems = []
    for item in ALL_DOCUMENTED:
        if item.signature is None:
            continue
        obj = getattr(_import(item.module), item.name)
        written = [
            part.split("=")[0].strip()
            for part in item.signature.strip("()").split(",")
            if part.strip() not in ("*", "/")
        ]
        actual = list(inspect.signature(obj).parameters)
        if written != actual:
            problems.append(f"{item.page}: {item.name}{item.signature}, code has {actual}")
    assert not problems, "\n".join(problems)


def test_constants_written_on_a_page_match_the_code() -> None:
    problems = []
    for item in ALL_DOCUMENTED:
        if item.directive == "data" and item.value is not None:
            actual = repr(getattr(_import(item.module), item.name))
            if item.value != actual:
                problems.append(f"{item.page}: {item.name} = {item.value}, code has {actual}")
    assert not problems, "\n".join(problems)


def test_every_api_page_is_in_the_toc() -> None:
    toc = _toc_files()
    missing = [page.name for page in API_PAGES if f"book/api/{page.stem}" not in toc]
    assert not missing, f"API pages missing from _toc.yml: {missing}"
    stale = [f for f in toc if f.startswith("book/api/") and not (REPO_ROOT / f"{f}.md").exists()]
    assert not stale, f"_toc.yml lists API pages that do not exist: {stale}"
