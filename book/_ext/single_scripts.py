"""Each script once per page.

Jupyter Book 1.x registers sphinx-thebe's inline configuration script twice, so every page
declares ``const THEBE_JS_URL`` twice and the browser logs a SyntaxError. This extension
drops repeated scripts (same file and attributes) from each page's script list, in place:
the list is the builder's own, which later handlers (MathJax's) still append to.
"""

from __future__ import annotations

from typing import Any


def _single_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # an inline script is registered once with filename None and once with ""
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    # Early: a later handler may return a template name, which ends the event.
    app.connect("html-page-context", _single_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
