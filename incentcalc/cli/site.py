"""`incentcalc site --run DIR`: the partner portal and program dashboard of a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from incentcalc.cli.options import (
    Reporting,
    emit_json,
    log_line,
    stdout_console,
    with_reporting,
)


@with_reporting
def site(
    run_dir: Annotated[
        Path,
        typer.Option(
            "--run", help="The run folder (--out of `run`) to make the site of.", file_okay=False
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Site folder (default DIR/site).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing site.")] = False,
    *,
    reporting: Reporting,
) -> None:
    """Write the static website of a run: the dashboard and one page per partner."""
    with reporting.guarded("site"):
        from incentcalc.site.build import build_site

        summary = build_site(run_dir, out, force=force)
        log_line(
            reporting.log_file,
            f"site: {summary.partner_pages} partner pages, wrote {summary.folder}",
        )
        if reporting.as_json:
            emit_json({"command": "site", "status": "ok", "exit_code": 0,
                       "folder": str(summary.folder), "partner_pages": summary.partner_pages,
                       "provisional": summary.provisional})  # fmt: skip
        elif not reporting.quiet:
            stdout_console().print(
                f"Wrote the site of {summary.partner_pages:,} partner pages to "
                f"{summary.folder}/index.html"
                + (" (provisional: a progress run)" if summary.provisional else "")
            )
