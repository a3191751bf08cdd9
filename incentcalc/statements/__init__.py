"""Partner statement workbooks and the finance summary workbook (CLI.md, docs/statements.md).

- `batch.write_statements(result, folder)` writes `folder/<safe partner id>.xlsx` for every
  in-scope partner (or a subset), in parallel processes;
- `summary.write_summary(result, path)` writes summary.xlsx;
- `batch.prepare_statements(result)` starts the statement workers' forkserver ahead of time.

Both write values, never formulas; text always stays text; re-runs give identical bytes.
This package file imports nothing, so `run --no-statements` does not load the statement
workers' machinery (multiprocessing, the statement layout).
"""
