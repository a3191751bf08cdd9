"""Peers of `incentcalc run`: the same benchmark quarter computed the way a data engineer
would without incentcalc (a pandas script, a DuckDB SQL script). Timed in the same bench as
child processes. They read the program's numbers from program.yaml, compute KPIs, scores,
tiers with gates, bonus with cap, budget and holdback with exact money, and print the
partner count and total payable; they do no validation, integrity rules, team pooling,
statements or output files."""
