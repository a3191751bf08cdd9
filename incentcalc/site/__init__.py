"""The partner portal and program dashboard: a static website from a finished run (SITE.md).

`build.build_site` reads a run folder (`run.read_site_run`), turns it into display text
(`dashboard_view`, `partner_view`) and renders the Jinja2 templates in `templates/`; the
charts are Vega-Lite specs (`charts`) drawn by the scripts in the site's `assets/`.
"""
