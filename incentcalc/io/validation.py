"""Validation: every source against the row rules and the cross-source rules (DATA.md).

All failures are collected, never just the first: one FAILURE_SCHEMA row per failing cell
(file, row as a person sees it, column, value as written, rule in plain words with the fix).

Two kinds of failure, because quarantine treats them differently:

- row failures: a cell that does not parse, breaks a pandera row rule (`schemas`), or breaks a
  rule between columns of the same row (left_on before joined_on, a closed deal without
  close_date, a renewed contract without renewed_amount). With quarantine the row is set
  aside in `Inputs.rejected` and the run goes on without it.
- cross-source failures: a partner_id that is not in the partners file, a segment or KPI the
  config does not know, a currency used in the period without an FX rate, an attainment KPI
  without a target. Leaving rows out cannot fix these (and could silently underpay), so they
  always stop the run.

Quarantine sets rows aside, never a whole source or column: a file that cannot be read, a
missing column, a column none of whose values can be read, or more rejected rows than
`max_rejected` of any source stops the run as without quarantine (DATA.md "Validation").

`load_inputs` is what the engine calls; `check_inputs` is what `incentcalc validate` calls
(it collects instead of raising).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import polars as pl

from incentcalc.config import Metric, ProgramConfig, Source, SourceName
from incentcalc.errors import ConfigError, DataError
from incentcalc.history import History
from incentcalc.inputs import (
    FAILURE_SCHEMA,
    REJECTED_SCHEMA,
    ROW,
    Inputs,
    Stage,
    empty_failures,
    empty_rejected,
)
from incentcalc.io.continuation import continuation_hints
from incentcalc.io.database import query_dates
from incentcalc.io.derived_partners import read_partners_from_deals
from incentcalc.io.readers import SourceRead, read_source
from incentcalc.io.rejected import ROW_ID, partners_hit, rejected_row_names
from incentcalc.io.rules import (
    CELL_FAILURE_SCHEMA,
    NOT_ALLOWED,
    UNIQUE_CHECK,
    UNIQUE_KEYS,
    describe_check,
    rows_pass,
)
from incentcalc.io.window import Window, read_windows
from incentcalc.periods import Period

READERS = 3
"""Sources read and checked at once: the deals export plus two small ones on two cores."""

PARTNER_REFERENCES = (
    SourceName.DEALS,
    SourceName.NPS,
    SourceName.RENEWALS,
    SourceName.TARGETS,
    SourceName.ADJUSTMENTS,
)
"""Sources whose partner_id must exist in the partners file."""

CLOSED_STAGES = (Stage.CLOSED_WON.value, Stage.CLOSED_LOST.value, Stage.CANCELLED.value)
PARTNER_ID = "partner_id"
MAX_PARTNERS_NAMED = 20
"""Partners named one warning each for rows quarantine left out; the rest are counted."""
SUMMARY_GROUPS = 5
"""Failure groups quoted in a DataError message (the full list is in `validate --report`)."""

DEFAULT_MAX_REJECTED = Decimal("0.01")
"""With quarantine, more rejected rows than this share of any source stops the run."""

MAX_LISTED_VALUES = 50
"""Distinct unmapped values named in one failure rule (`--report` has every row)."""

SOURCE_OF_METRIC: dict[Metric, SourceName] = {
    Metric.NPS: SourceName.NPS,
    Metric.GROSS_RENEWAL_RATE: SourceName.RENEWALS,
    Metric.NET_REVENUE_RETENTION: SourceName.RENEWALS,
    Metric.LOGO_RETENTION: SourceName.RENEWALS,
}
"""Metrics read from a source other than deals (which `payout.base` always needs)."""

MAX_QUOTED_CHARS = 40
"""Longest value quoted in a DataError message: a 10 MB cell must not become a 10 MB error
(the --report file keeps the whole value)."""


@dataclass(frozen=True)
class Validation:
    """What `check_inputs` found: the inputs (row failures left in, or quarantined), every
    failure, and which of them are row failures (`row_failures`) vs cross-source ones."""

    inputs: Inputs
    row_failures: pl.DataFrame = field(default_factory=empty_failures)
    cross_failures: pl.DataFrame = field(default_factory=empty_failures)
    paths: dict[SourceName, Path | str] = field(default_factory=dict)
    hints: tuple[str, ...] = ()
    """What the failures look like when they are a pattern (order-line continuation rows)."""

    @property
    def failures(self) -> pl.DataFrame:
        """Every failure, row failures first, in source order and file row order."""
        return pl.concat([self.row_failures, self.cross_failures])

    @property
    def ok(self) -> bool:
        """Whether no row and no cross-file check failed."""
        return self.row_failures.height == 0 and self.cross_failures.height == 0


def load_inputs(
    config: ProgramConfig,
    period: Period,
    *,
    quarantine: bool = False,
    reuse: Inputs | None = None,
    max_rejected: Decimal = DEFAULT_MAX_REJECTED,
    partner: str | None = None,
    history: History | None = None,
) -> Inputs:
    """Read and validate every configured source; the validated canonical frames.

    Raises `DataError` (exit 1) carrying every failure. With `quarantine`, rows with row
    failures are dropped and returned in `Inputs.rejected`; cross-source failures, file and
    column failures, and more rejected rows than `max_rejected` (a share) of any source
    still raise. With `reuse` (inputs already read and row-checked for a config with the
    same `sources`), nothing is read again: only the config-dependent checks run. With
    `partner`, only that partner's rows are read (`explain --run`). `history` (the closed
    entries the run builds on) widens the deals' window to the stored deals' own rows.
    """
    if reuse is not None:
        check_needed_sources(config)
        paths = {f.name: f.path for f in reuse.files}
        cross = check_config_rules(config, period, reuse, paths)
        if cross.height:
            raise failures_error(cross)
        return reuse
    result = check_inputs(config, period, quarantine=quarantine, partner=partner, history=history)
    if result.cross_failures.height or (result.row_failures.height and not quarantine):
        raise failures_error(result.failures, hints=result.hints)
    if quarantine:
        read = [str(file.path) for file in result.inputs.files]
        whole = result.row_failures.filter(pl.col("row").is_null() | ~pl.col("file").is_in(read))
        if whole.height:  # a file that could not be read, a missing or unreadable column
            raise failures_error(whole, quarantine=True)
        check_rejected_share(result, max_rejected)
    return result.inputs


def check_needed_sources(config: ProgramConfig) -> None:
    """Every source a KPI (and so a gate) reads is configured; nps and renewals may be left
    out of a program that does not use them. Raises `ConfigError` naming the KPI."""
    for kpi_name, kpi in config.kpis.items():
        needed = SOURCE_OF_METRIC.get(kpi.metric)
        if needed is not None and getattr(config.sources, needed.value) is None:
            raise ConfigError(
                f"kpis.{kpi_name}: metric {kpi.metric} reads the {needed} source, but the "
                f"config has no sources.{needed}. Add `sources.{needed}: {{path: ...}}`, or "
                "remove the KPI."
            )


def check_inputs(
    config: ProgramConfig,
    period: Period,
    *,
    quarantine: bool = False,
    all_rows: bool = False,
    partner: str | None = None,
    history: History | None = None,
    sha256: bool = True,
) -> Validation:
    """Read every source and collect all failures (raises only `ConfigError`).

    Only the rows the period can use are read (`window.read_windows`, with `history` the
    closed entries the run builds on); `all_rows` reads and checks the whole history of
    every export (`validate --all-rows`).

    A file that cannot be read as a table is reported as one failure (row empty) and the
    cross-source rules are skipped, since they would only echo that problem. With
    `quarantine`, a column of which no value can be read is a failure of the whole column.
    Without `sha256` the files are not hashed (`validate` reports no sha256; the
    `SourceFile`s' are empty).
    """
    check_needed_sources(config)
    windows = {} if all_rows else read_windows(config, period, history)
    dates = query_dates(config, period, windows.get(SourceName.DEALS))
    sources = dict(config.sources.items())

    two_names: list[pl.DataFrame] = []

    def read_and_check(name: SourceName) -> tuple[SourceRead, pl.DataFrame] | DataError:
        """One source read and its rows checked, or the `DataError` of an unreadable one."""
        try:
            if sources[name].from_ is not None:  # partners: {from: deals}
                read, conflicts = read_partners_from_deals(
                    sources[name], config.sources.deals, partner=partner, dates=dates, sha256=sha256
                )
                two_names.append(conflicts)
            else:
                read = read_source(
                    name,
                    sources[name],
                    window=windows.get(name),
                    partner=partner,
                    dates=dates,
                    sha256=sha256,
                )
        except DataError as exc:
            return exc
        credits = sources[name].credits
        return checked_rows(
            read, validate_source(read, credits=credits), windows.get(name), credits
        )

    # Polars lets go of the GIL while it reads and checks: the small sources are done while
    # the deals export is decoded.
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        done = dict(zip(sources, pool.map(read_and_check, sources), strict=True))
    reads = {name: got[0] for name, got in done.items() if not isinstance(got, DataError)}
    checked = [
        _by_header(got[1], sources[name])
        for name, got in done.items()
        if not isinstance(got, DataError)
    ]
    unreadable = [
        _file_failure(got, sources[name].location)
        for name, got in done.items()
        if isinstance(got, DataError)
    ]
    paths = {name: source.location for name, source in sources.items()}
    if quarantine and partner is None:  # one partner's rows are too few to judge a column
        checked += [_by_header(unreadable_columns(r), sources[n]) for n, r in reads.items()]
    row_failures = _sorted([*unreadable, *checked], paths, per_cell=True)
    frames = {name: read.frame for name, read in reads.items()}
    warnings = [w for read in reads.values() for w in read.warnings]
    warnings += skipped_counted_warnings(reads, period)
    rejected = empty_rejected()
    if quarantine and row_failures.height:
        frames = _without_failed_rows(frames, row_failures, paths)
        rejected = rejected_rows(reads, row_failures)
        warnings += quarantine_warnings(reads, rejected)
    hints = [
        hint
        for name, read in reads.items()
        if name is not SourceName.PARTNERS and name in ROW_ID
        for hint in continuation_hints(read, row_failures, ROW_ID[name])
    ]
    warnings += hints
    files = tuple(read.file for read in reads.values())
    inputs = Inputs(frames, files, rejected, tuple(warnings))
    if unreadable:
        return Validation(inputs, row_failures, empty_failures(), paths, tuple(hints))
    cross = _sorted(
        [
            # a partner whose row quarantine rejected is known, just not calculated
            check_partner_references(inputs, paths, reads[SourceName.PARTNERS].frame["partner_id"]),
            check_config_rules(config, period, inputs, paths),
            *two_names,
        ],
        paths,
    )
    return Validation(inputs, row_failures, cross, paths, tuple(hints))


def counted_rows(name: SourceName, period: Period) -> pl.Expr | None:
    """True for a row of `name` that `period` counts: a deal closed (won, lost, cancelled)
    in it, a response with a score or a decided renewal in it, a target or adjustment of it."""

    def within(column: str) -> pl.Expr:
        return pl.col(column).is_between(pl.lit(period.start), pl.lit(period.end))

    return {
        SourceName.DEALS: pl.col("stage").is_in(CLOSED_STAGES) & within("close_date"),
        SourceName.NPS: pl.col("score").is_not_null() & within("responded_on"),
        SourceName.RENEWALS: pl.col("status").is_in(["renewed", "churned"]) & within("due_date"),
        SourceName.TARGETS: (pl.col("period") == period.label) & pl.col("target").is_not_null(),
        SourceName.ADJUSTMENTS: (pl.col("period") == period.label) & pl.col("amount").is_not_null(),
    }.get(name)


def skipped_counted_warnings(reads: dict[SourceName, SourceRead], period: Period) -> list[str]:
    """A warning naming the rows `skip_rows_where` left out although the period counts them
    (a won deal without an amount skipped by `{amount: [""]}`): never a silent skip."""
    warnings = []
    for name, read in reads.items():
        counted = counted_rows(name, period)
        if read.skipped is None or read.skipped.is_empty() or counted is None:
            continue
        lost = read.skipped.filter(counted.fill_null(False))
        if lost.is_empty():
            continue
        named = rejected_row_names(
            lost.select(
                pl.lit(name.value).alias("source"),
                pl.lit(str(read.path)).alias("file"),
                pl.col(ROW).cast(pl.Int64).alias("row"),
                _written_text(lost, ROW_ID.get(name)).alias("record_id"),
                _written_text(lost, PARTNER_ID).alias("partner_id"),
            )
        )
        warnings.append(
            f"skip_rows_where left out {lost.height} row(s) of {name} ({read.path}) that "
            f"{period.label} counts: {named}. Their numbers are missing from the payouts; "
            "narrow the rule so it only matches rows the period does not use (a rule may "
            'combine columns: `skip_rows_where: [{amount: [""], stage: [open]}]`).'
        )
    return warnings


def checked_rows(
    read: SourceRead, failures: pl.DataFrame, window: Window | None, credits: bool = False
) -> tuple[SourceRead, pl.DataFrame]:
    """The read and its failures without the failing rows that were read only to be listed
    (dated outside the range the rules use, `Window.checked`): no rule reads them, so they
    are left off the statements' listing instead of being reported (docs/data.md)."""
    if window is None or window.checked is None or failures.is_empty():
        return read, failures
    listed = read.frame.filter(window.listed_only(pl.col(window.column)))[ROW]
    dropped = failures.filter(pl.col("row").is_in(listed.implode()))["row"].unique()
    if dropped.is_empty():
        return read, failures
    keep = ~pl.col(ROW).is_in(dropped.implode())
    trimmed = replace(
        read,
        frame=read.frame.filter(keep),
        written=read.written.filter(keep),
        failures=read.failures.filter(~pl.col("row").is_in(dropped.implode())),
    )
    trimmed = replace(trimmed, file=replace(read.file, rows=trimmed.frame.height))
    return trimmed, validate_source(
        trimmed, credits=credits
    )  # counts and duplicates without those rows


def unreadable_columns(read: SourceRead) -> pl.DataFrame:
    """A failure (row empty) for each column of which not one written value could be read:
    a wrong format or mapping, which quarantine must not turn into a missing column."""
    failed = read.failures.group_by("column").len()
    written = read.written.select(
        pl.col(column).drop_nulls().len().cast(pl.UInt32) for column in failed["column"]
    )
    whole = [
        column
        for column, count in failed.iter_rows()
        if read.frame.height and written[column][0] == count
    ]
    return pl.DataFrame(
        [
            {"file": str(read.path), "row": None, "column": column, "value": None,
             "rule": f"no value of this column could be read ({written[column][0]} rows): its "
             "format or mapping does not fit the export; quarantine sets rows aside, never a "
             "whole column"}
            for column in whole
        ],
        schema=FAILURE_SCHEMA,
    )  # fmt: skip


def rejected_rows(reads: dict[SourceName, SourceRead], failures: pl.DataFrame) -> pl.DataFrame:
    """The row failures quarantine sets aside (REJECTED_SCHEMA): each with its source, the
    row's own id and its partner_id as written. A file that feeds two sources names the
    row once, by the source that is not the partners master (its rows are deals first)."""
    ordered = sorted(reads.values(), key=lambda read: read.name is SourceName.PARTNERS)
    owners = pl.concat(
        [
            read.written.select(
                pl.lit(read.name.value).alias("source"),
                pl.lit(str(read.path)).alias("file"),
                pl.col(ROW).cast(pl.Int64).alias("row"),
                _written_text(read.written, ROW_ID.get(read.name)).alias("record_id"),
                _written_text(read.written, PARTNER_ID).alias("partner_id"),
            )
            for read in ordered
        ]
        or [pl.DataFrame(schema={k: REJECTED_SCHEMA[k] for k in ("source", "file", "row")})],
        how="diagonal_relaxed",
    ).unique(subset=["file", "row"], keep="first", maintain_order=True)
    return (
        failures.join(owners, on=["file", "row"], how="left", maintain_order="left")
        .with_columns(pl.col(c).cast(t) for c, t in REJECTED_SCHEMA.items())
        .select(REJECTED_SCHEMA.keys())
    )


def _written_text(written: pl.DataFrame, column: str | None) -> pl.Expr:
    if column is None or column not in written.columns:
        return pl.lit(None, pl.String())
    return pl.col(column).cast(pl.String())


def quarantine_warnings(reads: dict[SourceName, SourceRead], rejected: pl.DataFrame) -> list[str]:
    """What quarantine left out, said on every run: rows per source (which ones), each partner
    not calculated at all because its partners row was rejected, and each partner whose
    numbers now leave rows out."""
    warnings = []
    for name, read in reads.items():
        own = rejected.filter(pl.col("source") == name.value)
        rows = own["row"].drop_nulls().unique()
        if rows.len():
            warnings.append(
                f"{rows.len()} row(s) of {name} ({read.path}) were rejected and left out "
                f"({rejected_row_names(own)}); they are listed in rejected_rows.csv"
            )
        if name is SourceName.PARTNERS and rows.len():
            lost = read.written.filter(pl.col(ROW).is_in(rows.implode()))
            for row, partner in lost.select(ROW, PARTNER_ID).iter_rows():
                shown = repr(partner) if partner is not None else "(no id)"
                warnings.append(
                    f"partner {shown} is not calculated: its partners row {row} was rejected"
                )
    hit = partners_hit(rejected)
    for partner, count, listing in hit[:MAX_PARTNERS_NAMED]:
        warnings.append(
            f"partner {partner!r} is calculated without {count} rejected row(s) ({listing}): "
            "its KPIs and payout leave them out until they are fixed"
        )
    if len(hit) > MAX_PARTNERS_NAMED:
        warnings.append(
            f"{len(hit) - MAX_PARTNERS_NAMED} more partner(s) are calculated without rejected "
            "rows: rejected_partners in the manifest and rejected_rows.csv name them all"
        )
    return warnings


def check_rejected_share(result: Validation, max_rejected: Decimal) -> None:
    """Stop (exit 1) when any source lost more than `max_rejected` of its rows to quarantine,
    naming how many rows, which, and the two ways out: fix the rows (or the mapping), or
    raise --max-rejected to at least the share they are."""
    rejected = result.inputs.rejected
    for file in result.inputs.files:
        own = rejected.filter(pl.col("file") == str(file.path))
        bad = own["row"].n_unique()
        if file.rows and Decimal(bad) / Decimal(file.rows) > max_rejected:
            limit = f"{(max_rejected * 100).normalize():f}%"
            needed = (Decimal(bad * 100) / Decimal(file.rows)).quantize(
                Decimal("0.01"), rounding=ROUND_CEILING
            )
            raise DataError(
                f"--quarantine would reject {bad} of {file.rows} rows of {file.name} "
                f"({file.path}), more than --max-rejected {limit}; nothing was "
                f"calculated or written. The rows: {rejected_row_names(own)}. Either fix "
                "them in the export or its mapping (`incentcalc validate --report FILE` lists "
                "each with its rule), or, if leaving them out is right, raise the limit: "
                f"--max-rejected {needed.normalize():f}%.",
                failures=result.row_failures,
            )


def _file_failure(exc: DataError, path: Path | str) -> pl.DataFrame:
    if exc.failures is not None and exc.failures.height:
        return exc.failures.cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
    rule = exc.message.removeprefix(f"{path}: ")
    return pl.DataFrame(
        [{"file": str(path), "row": None, "column": None, "value": None, "rule": rule}],
        schema=FAILURE_SCHEMA,
    )


def _by_header(failures: pl.DataFrame, source: Source) -> pl.DataFrame:
    """The failures with the export's header of each column (`__header`): a file that feeds
    two sources (deals and renewals from one opportunity export) has one cell under two
    canonical names, and its failure is reported once."""
    headers = {
        column: source.header_of(column) for column in failures["column"].unique().drop_nulls()
    }
    return failures.with_columns(
        pl.col("column")
        .replace_strict(headers, default=None, return_dtype=pl.String())
        .alias("__header")
    )


def _sorted(
    parts: list[pl.DataFrame], paths: dict[SourceName, Path | str], *, per_cell: bool = False
) -> pl.DataFrame:
    """Failures in canonical source order, then file row order. With `per_cell`, one rule
    per cell of the file: a cell that did not parse is not reported again as empty, and a
    cell that two sources read (one file, two sources) is reported once."""
    order = pl.DataFrame(
        {"file": [str(p) for p in paths.values()], "__order": range(len(paths))},
        schema={"file": pl.String(), "__order": pl.Int64()},
    ).unique("file", keep="first", maintain_order=True)  # a file may feed two sources
    both = pl.concat([empty_failures(), *parts], how="diagonal").with_row_index("__seq")
    if per_cell:
        headers = "__header" in both.columns
        cell = pl.coalesce("__header", "column") if headers else pl.col("column")
        both = both.with_columns(cell.alias("__cell")).unique(
            subset=["file", "row", "__cell"], keep="first", maintain_order=True
        )
    return (
        both.join(order, on="file", how="left")
        .sort("__order", "row", "__seq", nulls_last=False)
        .select(FAILURE_SCHEMA.keys())
    )


def _without_failed_rows(
    frames: dict[SourceName, pl.DataFrame],
    failures: pl.DataFrame,
    paths: dict[SourceName, Path | str],
) -> dict[SourceName, pl.DataFrame]:
    kept: dict[SourceName, pl.DataFrame] = {}
    for name, frame in frames.items():
        bad = failures.filter(pl.col("file") == str(paths[name])).select(pl.col("row").alias(ROW))
        kept[name] = frame.join(bad, on=ROW, how="anti", maintain_order="left")
    return kept


# -- row failures ------------------------------------------------------------------------


def validate_source(read: SourceRead, *, credits: bool = False) -> pl.DataFrame:
    """Parse failures, pandera row rules and same-row rules of one source (`credits`: the
    deals source lets closed_won amounts be negative, RULES.md 4); for partners also the
    IBANs and BICs, whose failures show an IBAN by its last 4 characters only."""
    cells = pl.concat([validate_rows(read.name, read.frame), _same_row_cells(read, credits)])
    failures = pl.concat([read.failures, list_unmapped_values(locate(read, cells))])
    if read.name is not SourceName.PARTNERS:
        return failures
    return pl.concat([mask_ibans(failures), account_failures(read.frame, read.path)])


def mask_ibans(failures: pl.DataFrame) -> pl.DataFrame:
    """Failures of the iban column with the value cut to its last 4 characters (each distinct
    value cut once by `accounts.masked`, the one place that says how)."""
    from incentcalc.accounts import masked

    iban = pl.col("column") == "iban"
    cut = {value: masked(value) for value in failures.filter(iban)["value"].drop_nulls().unique()}
    return failures.with_columns(
        pl.when(iban).then(pl.col("value").replace(cut)).otherwise(pl.col("value")).alias("value")
    )


def account_failures(partners: pl.DataFrame, path: Path | str) -> pl.DataFrame:
    """A failure per invalid IBAN or BIC of the partner master (PAYMENTS.md), naming the
    partner; the IBAN is shown by its last 4 characters only. Each distinct value is checked
    once, and only partners with payment columns filled are looked at."""
    from incentcalc.accounts import bic_problem, iban_problem, masked

    found = []
    for column, problem_of, what in (("iban", iban_problem, "IBAN"), ("bic", bic_problem, "BIC")):
        filled = partners.filter(pl.col(column).is_not_null())
        problems = {value: problem_of(value) for value in filled[column].unique()}
        for row, partner, value in filled.select(ROW, "partner_id", column).iter_rows():
            problem = problems[value]
            if problem is None:
                continue
            shown = masked(value) if column == "iban" else value
            ending = f" (ending {shown})" if column == "iban" else ""
            found.append(
                {"file": str(path), "row": row, "column": column, "value": shown,
                 "rule": f"invalid {what} of partner {partner!r}{ending}: it {problem}; "
                 f"correct it in the partner master"}
            )  # fmt: skip
    return pl.DataFrame(found, schema=FAILURE_SCHEMA)


def list_unmapped_values(failures: pl.DataFrame) -> pl.DataFrame:
    """Name every distinct value outside a column's allowed set, with its row count, in the
    rule itself: one line of the report then shows all 33 stage strings of an export, not
    the first three rows (the most frequent first).

    Example rule: ``must be one of closed_won, ...; values found: 'Won' (12 rows), 'Lost'
    (3 rows)``.
    """
    unmapped = pl.col("rule").str.starts_with(NOT_ALLOWED)
    counts = (
        failures.filter(unmapped)
        .group_by("column", "rule", "value")
        .len()
        .sort("column", "len", "value", descending=[False, True, False])
    )
    shown = pl.format(
        "'{}' ({} row{})",
        pl.col("value").fill_null(""),
        pl.col("len"),
        pl.when(pl.col("len") == 1).then(pl.lit("")).otherwise(pl.lit("s")),
    )
    listing = counts.group_by("column", "rule", maintain_order=True).agg(
        shown.head(MAX_LISTED_VALUES).str.join(", ").alias("found"),
        (pl.len().cast(pl.Int64) - MAX_LISTED_VALUES).alias("more"),
    )
    more = pl.when(pl.col("more") > 0).then(pl.format(" and {} more", pl.col("more")))
    listed = pl.format(
        "{}; values found: {}{}", pl.col("rule"), pl.col("found"), more.fill_null("")
    )
    return (
        failures.join(listing, on=["column", "rule"], how="left", maintain_order="left")
        .with_columns(pl.coalesce(listed, pl.col("rule")).alias("rule"))
        .select(FAILURE_SCHEMA.keys())
    )


def _deal_amount_rules(credits: bool) -> list[tuple[pl.Expr, str, str]]:
    """A won deal needs its amount (only won deals' amounts are used, so a lost deal may
    leave it empty); a negative amount is a credit only on a closed_won row with `credits`."""
    amount, won = pl.col("amount"), pl.col("stage") == Stage.CLOSED_WON
    negative_rule = (
        "must be 0 or more: only a closed_won deal may be negative (a credit)"
        if credits
        else "must be 0 or more (no negatives); if negative closed_won amounts are credits "
        "(de-scopes, credit notes), set `credits: true` on the deals source to net them "
        "against revenue"
    )
    return [
        (amount.is_null() & won, "amount",
         "required when stage is closed_won; fill in the amount (an export that writes 0 as "
         'an empty cell can set `fill_empty: {amount: "0"}` on the source)'),
        ((amount < 0) & ~(won & pl.lit(credits)), "amount", negative_rule),
    ]  # fmt: skip


def _same_row_cells(read: SourceRead, credits: bool = False) -> pl.DataFrame:
    rules: list[tuple[pl.Expr, str, str]] = []
    if read.name is SourceName.PARTNERS:
        rules.append(
            (pl.col("left_on") < pl.col("joined_on"), "left_on",
             "must not be before joined_on; fix one of the two dates")
        )  # fmt: skip
    elif read.name is SourceName.DEALS:
        rules.append(
            (pl.col("close_date").is_null() & pl.col("stage").is_in(CLOSED_STAGES), "close_date",
             "required when stage is closed_won, closed_lost or cancelled; fill in the date")
        )  # fmt: skip
        rules += _deal_amount_rules(credits)
    elif read.name is SourceName.RENEWALS:
        rules.append(
            ((pl.col("status") == "renewed") & pl.col("renewed_amount").is_null(),
             "renewed_amount", "required when status is renewed; fill in the renewed amount")
        )  # fmt: skip
    return rule_cells(read.frame, rules)


def rule_cells(frame: pl.DataFrame, rules: list[tuple[pl.Expr, str, str]]) -> pl.DataFrame:
    """(mask, column, rule) triples -> failing cells (CELL_FAILURE_SCHEMA) of `frame`."""
    indexed = frame.with_row_index("index")
    parts = [
        indexed.filter(mask.fill_null(False)).select(
            pl.col("index").cast(pl.Int64),
            pl.lit(column).alias("column"),
            pl.lit(rule).alias("rule"),
        )
        for mask, column, rule in rules
    ]
    return pl.concat([pl.DataFrame(schema=CELL_FAILURE_SCHEMA), *parts])


def locate(read: SourceRead, cells: pl.DataFrame) -> pl.DataFrame:
    """Failing cells (row position, column, rule) -> FAILURE_SCHEMA rows: the row number a
    person sees in the file and the value as written there."""
    parts = []
    for column in cells["column"].unique(maintain_order=True).to_list():  # columns, not rows
        found = cells.filter(pl.col("column") == column)
        index = found["index"]
        keys = UNIQUE_KEYS[read.name]
        shown = keys if column == keys[0] and _is_key_failure(found) else (column,)
        written = read.written.select(
            pl.concat_str([pl.col(c).cast(pl.String()) for c in shown], separator=", ")
        ).to_series()
        parts.append(
            pl.DataFrame(
                {
                    "file": pl.Series([str(read.path)] * found.height, dtype=pl.String()),
                    "row": read.frame[ROW].gather(index),
                    "column": found["column"],
                    "value": written.gather(index),
                    "rule": found["rule"],
                },
                schema=FAILURE_SCHEMA,
            )
        )
    return pl.concat([empty_failures(), *parts])


def _is_key_failure(found: pl.DataFrame) -> bool:
    return bool(found["rule"].str.starts_with("duplicate (").any())


# -- cross-source failures ---------------------------------------------------------------


def _frame_failures(
    frame: pl.DataFrame, path: Path | str | None, mask: pl.Expr, column: str, rule: str | pl.Expr
) -> pl.DataFrame:
    return frame.filter(mask.fill_null(False)).select(
        pl.lit(str(path)).alias("file"),
        pl.col(ROW).alias("row"),
        pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String()).alias("value"),
        (pl.lit(rule) if isinstance(rule, str) else rule).alias("rule"),
    )


def check_partner_references(
    inputs: Inputs, paths: dict[SourceName, Path | str], partner_ids: pl.Series | None = None
) -> pl.DataFrame:
    """Every partner_id of deals, nps, renewals, targets and adjustments is in partners.

    `partner_ids` are the ids the partners file has (by default the validated ones): a
    partner whose row quarantine rejected is known, just not calculated.
    """
    ids = inputs[SourceName.PARTNERS]["partner_id"] if partner_ids is None else partner_ids
    known = ids.drop_nulls().implode()
    partners_file = paths.get(SourceName.PARTNERS)
    rule = (
        f"unknown partner: no such partner_id in {partners_file}; add the partner to the "
        "partners file or correct the id"
    )
    parts = [
        _frame_failures(
            inputs[name],
            paths.get(name),
            pl.col("partner_id").is_not_null() & ~pl.col("partner_id").is_in(known),
            "partner_id",
            rule,
        )
        for name in PARTNER_REFERENCES
        if name in inputs.frames
    ]
    return pl.concat([empty_failures(), *parts])


def check_config_rules(
    config: ProgramConfig, period: Period, inputs: Inputs, paths: dict[SourceName, Path | str]
) -> pl.DataFrame:
    """The rules that depend on the config or the period: segments, target KPIs, FX rates,
    attainment targets (what `diff` re-runs for a second config over the same data)."""
    partners = inputs[SourceName.PARTNERS]
    segments = list(config.segments)
    kpis = list(config.kpis)
    parts = [
        _frame_failures(
            partners,
            paths.get(SourceName.PARTNERS),
            ~pl.col("segment").is_in(segments),
            "segment",
            f"not a segment of the config (known: {', '.join(segments)}); add it under "
            "`segments` in the config or correct the partner's segment",
        ),
        _frame_failures(
            inputs[SourceName.TARGETS],
            paths.get(SourceName.TARGETS),
            ~pl.col("kpi").is_in(kpis),
            "kpi",
            f"not a KPI of the config (known: {', '.join(kpis)}); correct the name or remove "
            "the row",
        ),
        check_fx_rates(config, period, inputs, paths),
        check_targets(config, period, inputs, paths),
    ]
    return pl.concat([empty_failures(), *parts])


def in_scope(partners: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Partners in scope for the period (RULES.md 2): joined by its end, not left before it."""
    return partners.filter(
        (pl.col("joined_on") <= period.end)
        & (pl.col("left_on").is_null() | (pl.col("left_on") >= period.start))
    )


def check_fx_rates(
    config: ProgramConfig, period: Period, inputs: Inputs, paths: dict[SourceName, Path | str]
) -> pl.DataFrame:
    """Every non-base currency used in the period by an in-scope partner has a rate.

    Used means: a deal closing in the period, a renewal due in the period, or the partner's
    payout_currency. One failure per missing currency, at the row where it is first used.
    """
    base = config.program.base_currency
    ids = in_scope(inputs[SourceName.PARTNERS], period)["partner_id"].implode()
    listed = inputs[SourceName.FX_RATES].filter(pl.col("period") == period.label)["currency"]

    def unrated(name: SourceName, date_column: str | None, column: str) -> pl.DataFrame:
        """Rows of in-scope partners using a currency without a rate (in the period). The
        millions of rows in a listed currency are never copied, and only the (normally no)
        rows in an unlisted one are looked up among the in-scope partners."""
        value = pl.col(column)
        uses = value.is_not_null() & (value != base) & ~value.is_in(listed.implode())
        if date_column is not None:
            uses &= pl.col(date_column).is_between(period.start, period.end)
        return (
            inputs[name]
            .filter(uses)
            .filter(pl.col("partner_id").is_in(ids))
            .select(
                pl.lit(str(paths.get(name))).alias("file"),
                pl.col(ROW).alias("row"),
                pl.lit(column).alias("column"),
                value.alias("value"),
            )
        )

    fx_file = paths.get(SourceName.FX_RATES)
    where = f"the fx_rates file {fx_file}" if fx_file else "an fx_rates file (sources.fx_rates)"
    missing = (
        pl.concat(
            [
                unrated(SourceName.DEALS, "close_date", "currency"),
                unrated(SourceName.RENEWALS, "due_date", "currency"),
                unrated(SourceName.PARTNERS, None, "payout_currency"),
            ]
        )
        .group_by("value", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("uses"))
    )
    return missing.select(
        "file",
        "row",
        "column",
        "value",
        pl.format(
            "no FX rate for {} in {} ({} row(s) use it; this is the first): add a row "
            "(period {}, currency {}, rate_to_base) to {}",
            pl.col("value"),
            pl.lit(period.label),
            pl.col("uses"),
            pl.lit(period.label),
            pl.col("value"),
            pl.lit(where),
        ).alias("rule"),
    ).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]


def check_targets(
    config: ProgramConfig, period: Period, inputs: Inputs, paths: dict[SourceName, Path | str]
) -> pl.DataFrame:
    """Each in-scope partner has a target for every attainment KPI weighted in its segment:
    a targets row for (partner, period, kpi) or the segment's default (RULES.md 5)."""
    needed = [
        (segment_name, kpi)
        for segment_name, segment in config.segments.items()
        for kpi in config.kpi_target_names()
        if segment.weights.get(kpi, 0) != 0 and kpi not in segment.targets
    ]
    if not needed:
        return empty_failures()
    wanted = pl.DataFrame(needed, schema={"segment": pl.String(), "kpi": pl.String()}, orient="row")
    given = inputs[SourceName.TARGETS].filter(pl.col("period") == period.label)
    lacking = (
        in_scope(inputs[SourceName.PARTNERS], period)
        .join(wanted, on="segment")
        .join(given, on=["partner_id", "kpi"], how="anti")
    )
    return lacking.select(
        pl.lit(str(paths.get(SourceName.PARTNERS))).alias("file"),
        pl.col(ROW).alias("row"),
        pl.lit("partner_id").alias("column"),
        pl.col("partner_id").alias("value"),
        pl.format(
            "no target for KPI {} in {}: add a targets row (partner_id, period, kpi, target) "
            "or a default under segments.{}.targets.{} in the config",
            pl.col("kpi"),
            pl.lit(period.label),
            pl.col("segment"),
            pl.col("kpi"),
        ).alias("rule"),
    ).sort("row")


# -- reporting ---------------------------------------------------------------------------


def group_failures(failures: pl.DataFrame, examples: int = 3) -> pl.DataFrame:
    """Failures grouped by (file, column, rule): count, first rows and values, in order of
    first appearance. A million rows with one systematic error become one line, and a 10 MB
    cell is shown by its first MAX_QUOTED_CHARS characters (`--report` keeps it whole)."""
    value = pl.col("value")
    shown = (
        pl.when(value.str.len_chars() > MAX_QUOTED_CHARS)
        .then(value.str.slice(0, MAX_QUOTED_CHARS - 1) + "…")
        .otherwise(value)
    )
    return failures.group_by("file", "column", "rule", maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("row").head(examples).alias("rows"),
        shown.head(examples).alias("values"),
    )


def failures_error(
    failures: pl.DataFrame, *, quarantine: bool = False, hints: tuple[str, ...] = ()
) -> DataError:
    """The DataError of a failed validation: a count, the first groups, and where to see all.
    With `quarantine`, the failures are of whole files or columns, which it cannot set aside."""
    groups = group_failures(failures, examples=1)
    files = failures["file"].n_unique()
    lines = [
        f"{failures.height} input failure(s) in {files} file(s); nothing was calculated or "
        "written. The first ones:"
    ]
    for group in groups.head(SUMMARY_GROUPS).iter_rows(named=True):  # a few groups, not rows
        row = group["rows"][0]
        value = group["values"][0]
        where = f"row {row}" if row is not None else "file"
        column = f", column {group['column']}" if group["column"] else ""
        shown = f", value {value!r}" if value is not None else ""
        count = f" ({group['count']} rows)" if group["count"] > 1 else ""
        lines.append(f"  - {group['file']} {where}{column}{shown}: {group['rule']}{count}")
    if groups.height > SUMMARY_GROUPS:
        lines.append(f"  - ... and {groups.height - SUMMARY_GROUPS} more kind(s) of failure")
    lines += hints
    lines.append(
        "Quarantine sets rows aside, never a whole file or column: fix the file or its mapping."
        if quarantine
        else "Run `incentcalc validate` with --report FILE to list every failure, or use "
        "--quarantine to set failing rows aside."
    )
    return DataError("\n".join(lines), failures=failures)


def source_rows(validation: Validation) -> dict[str, dict[str, object]]:
    """`source` -> {path, rows, skipped, rows_of} for reports (rows and skipped are null for a
    file that could not be read; skipped counts the rows `skip_rows_where` left out; both
    count the same rows, those `rows_of` names: the period's window or every row)."""
    files = {f.name: f for f in validation.inputs.files}
    return {
        name.value: {
            "path": str(path),
            "rows": files[name].rows if name in files else None,
            "skipped": files[name].skipped if name in files else None,
            "rows_of": files[name].rows_of if name in files else None,
        }
        for name, path in validation.paths.items()
    }


def validate_rows(source: SourceName, frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell of `frame` that breaks a row rule (CELL_FAILURE_SCHEMA), in one pass.

    Null cells are reported once, as `must not be empty`, not again as duplicates.
    """
    if rows_pass(source, frame):
        return pl.DataFrame(schema=CELL_FAILURE_SCHEMA)
    from pandera.errors import SchemaErrors

    from incentcalc.io.rule_models import MODELS

    try:
        MODELS[source].validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases: pl.DataFrame = exc.failure_cases
    else:
        return pl.DataFrame(schema=CELL_FAILURE_SCHEMA)
    cases = cases.with_columns(
        pl.when(pl.col("check") == UNIQUE_CHECK)
        .then(pl.lit(UNIQUE_KEYS[source][0]))
        .otherwise(pl.col("column"))
        .alias("column")
    )
    pairs = cases.select("column", "check").unique()  # a handful of distinct rules
    rules = pairs.with_columns(
        pl.Series(
            "rule",
            [describe_check(check, source) for _, check in pairs.iter_rows()],
            dtype=pl.String(),
        )
    )
    return (
        cases.join(rules, on=["column", "check"], how="left")
        .select(pl.col("index").cast(pl.Int64), "column", "rule")
        .unique(maintain_order=True)
    )
