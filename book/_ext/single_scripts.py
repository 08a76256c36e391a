"""Each script once per page.

Jupyter Book 1.x registers sphinx-thebe's inline configuration script twice, so every page
declares ``const THEBE_JS_URL`` twice and the browser logs a SyntaxError. This extension
drops repeated scripts (same file, priority and attributes) from each page's context.
"""

from __future__ import annotations

from typing import Any


def _single_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script)), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Any) -> dict[str, Any]:
    # Early: a later handler may return a template name, which ends the event.
    app.connect("html-page-context", _single_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
