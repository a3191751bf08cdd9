"""The command line: `app` builds the Typer app and registers one module per command; the
commands share their options through `options` and call `api`, never each other."""
