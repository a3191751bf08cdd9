"""Headless Chromium from the distribution (never a browser downloaded by Playwright), driven
by Playwright for Python: open a site page from file:// and record what a user's browser
would see go wrong (console errors, page errors, requests leaving the site, dialogs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ALL_DRAWN = "document.querySelectorAll('[data-chart]:not([data-drawn])').length === 0"


@dataclass
class Visit:
    """One page load and what went wrong during it."""

    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def chromium() -> Iterator[Any]:
    """The distribution's Chromium, headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def visit(browser: Any, page_path: Path, site: Path, *, javascript: bool = True,
          width: int = 1100) -> Iterator[Visit]:  # fmt: skip
    """Open `page_path` from disk in a fresh context; requests outside `site` are recorded."""
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport={"width": width, "height": 900})  # fmt: skip
    page = context.new_page()
    seen = Visit(page)
    inside = site.resolve().as_uri() + "/"
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(inside) else seen.outside.append(r.url))
    page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(page_path.resolve().as_uri())
        if javascript:
            page.wait_for_function(ALL_DRAWN, timeout=30_000)
        yield seen
    finally:
        context.close()
