"""Sources in a database (DATA.md): a query or table read through ADBC into the same raw
table the file readers return, so mapping, validation and quarantine treat it like a file.

The driver layer is Polars' `read_database_uri` with ADBC (docs/database.md says why):
Arrow all the way, typed columns kept (date, timestamptz, integer), and PostgreSQL `numeric`
handed over as its exact text, never a float. The period's dates are bound as parameters,
never formatted into the SQL, so the database does the filtering.

Secrets come only from the environment: ``${NAME}`` in the URI, or the driver's own
conventions (PGPASSWORD, ~/.pgpass). Every message leaving this module is scrubbed of the
secrets it could contain, and names the source, the database without credentials and the
server's own words.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import polars as pl

from incentcalc.config import ProgramConfig, Source, SourceName, public_url, query_sha256
from incentcalc.errors import ConfigError, DataError
from incentcalc.inputs import SOURCE_COLUMNS, SourceFile
from incentcalc.io.formats import RawTable
from incentcalc.io.window import Window, deal_window
from incentcalc.periods import Period

DATE_PARAMETER = re.compile(r"(?<![:\w\\]):(period_start|period_end|window_start|window_end)\b")
"""`:window_start` and friends, but not a PostgreSQL cast (``x::date``) or ``\\:name``."""

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SQLITE_PREFIX = "sqlite:///"
SQLITE_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
POSTGRES_SCHEMES = ("postgresql", "postgres")
ENV_PASSWORDS = ("PGPASSWORD",)
"""Environment variables a driver reads on its own: scrubbed from messages too."""


def driver_errors() -> tuple[type[Exception], ...]:
    """What a failing query raises. The ADBC drivers are imported only when a source is a
    database (a twentieth of a second at every start otherwise)."""
    import adbc_driver_manager

    return (
        adbc_driver_manager.Error,  # the server's or the file's own errors
        ImportError,  # no ADBC driver for the URL's scheme
        pl.exceptions.PolarsError,  # e.g. two result columns with one name
        pl.exceptions.PanicException,  # a column type Polars cannot import (interval)
    )


HASH_SLICE_ROWS = 200_000
"""Rows turned into CSV text at a time for the rows' sha256 (bounded memory at 5M rows)."""


def query_dates(
    config: ProgramConfig, period: Period, deals: Window | None = None
) -> dict[str, date]:
    """The dates a query may use: the period, and the widest window of rows the run can use
    (`deals`, the deals' window of `window.deal_window`, made here when not given: the listed
    neighbourhood, the reversal rule's look-ahead and the clawback look-back, back to the
    earliest stored deal whose share the clawbacks can still take; every other source's
    window lies inside it). The readers then keep what the window keeps, as for a file."""
    deals = deals if deals is not None else deal_window(config, period)
    assert deals.first is not None and deals.last is not None
    since = deals.kept_since
    return {
        "period_start": period.start,
        "period_end": period.end,
        "window_start": deals.first if since is None else min(deals.first, since),
        "window_end": deals.last,
    }


def same_reads(first: ProgramConfig, second: ProgramConfig, period: Period) -> bool:
    """Whether two configs read the same rows (so `diff` reads once): the same sources and,
    when a source is a database, the same window (a longer reversal rule widens it)."""
    if first.sources != second.sources:
        return False
    if (first.payout.clawback_within_days is None) != (second.payout.clawback_within_days is None):
        return False  # only one keeps the rows of the stored deals (`window.deal_window`)
    if all(source.uri is None for _, source in first.sources.items()):
        return True
    return query_dates(first, period) == query_dates(second, period)


@dataclass(frozen=True)
class DatabaseRead:
    """One database source as read: the raw frame and the manifest's audit facts."""

    frame: pl.DataFrame
    url: str
    rows_sha256: str

    def audit(self, source: Source) -> dict[str, str]:
        """URL without credentials, what was read (table, or the query's sha256), rows' sha256."""
        read = {"table": source.table} if source.table else {"query_sha256": query_sha256(source)}
        return {"url": self.url, **read, "rows_sha256": self.rows_sha256}


def read_database(name: SourceName, source: Source, dates: dict[str, date] | None) -> DatabaseRead:
    """Run the source's query (or read its table) with the period's dates bound.

    Raises `ConfigError` (exit 2) for an unset ``${NAME}``, an unreachable server, refused
    credentials, an unknown table or failing SQL, and `DataError` for a mapped column that
    arrives as a float, binary or nested value.
    """
    uri, secrets = expand_environment(name, source.uri or "")
    where = f"sources.{name} ({public_url(uri)}{_what(source)})"
    sql, parameters = bind_dates(_sql(source), dates, uri)
    sqlite_file = _sqlite_file(uri, where) if uri.startswith(SQLITE_PREFIX) else None
    try:
        if sqlite_file is not None:
            frame = _read_sqlite(sqlite_file, sql, parameters)
        else:
            frame = pl.read_database_uri(
                sql,
                _with_timeout(uri, source),
                engine="adbc",
                execute_options={"parameters": parameters} if parameters else None,
            )
    except driver_errors() as exc:
        raise ConfigError(_failure_message(where, uri, exc, secrets)) from None
    frame = _plain_types(frame)
    _refuse_inexact(name, source, frame, where)
    return DatabaseRead(frame, public_url(uri), rows_sha256(frame))


def read_database_table(
    name: SourceName, source: Source, dates: dict[str, date] | None
) -> tuple[RawTable, SourceFile]:
    """The source as the readers take a file: a raw table (its column names as headers,
    rows numbered from 1 in the order the database returns them) and its audit facts."""
    read = read_database(name, source, dates)
    table = RawTable(
        read.frame, tuple(read.frame.columns), rows_before_data=0, typed=False, trim=True
    )
    file = SourceFile(
        name, source.location, read.rows_sha256, read.frame.height, database=read.audit(source)
    )
    return table, file


def expand_environment(name: SourceName, uri: str) -> tuple[str, list[str]]:
    """Replace each ``${NAME}`` by the environment variable NAME; returns the URI and the
    secrets to keep out of messages (its password, as written and decoded, and PGPASSWORD;
    not the host or user, which messages must name). A reference that is the whole URI is
    taken as a URL; one inside it is a component, so it is percent-encoded (a password with
    ``@`` works)."""
    missing = sorted({m for m in ENV_REFERENCE.findall(uri) if m not in os.environ})
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"sources.{name}.uri uses ${{{missing[0]}}}, but the environment variable(s) "
            f"{names} are not set. Export them before the run (for cron, in the job's "
            "environment), or use PGPASSWORD / ~/.pgpass for the password."
        )
    whole = ENV_REFERENCE.fullmatch(uri)
    if whole:
        expanded = os.environ[whole.group(1)]
    else:
        expanded = ENV_REFERENCE.sub(lambda m: quote(os.environ[m.group(1)], safe=""), uri)
    return expanded, [*_url_secrets(expanded), *_driver_secrets()]


def _url_secrets(uri: str) -> list[str]:
    parts = urlsplit(uri) if "://" in uri else None
    if parts is None:
        return []
    found = [parts.password or ""] + [
        value for key, value in parse_qsl(parts.query) if "password" in key.lower()
    ]
    return [s for secret in found if secret for s in (secret, unquote(secret), quote(secret))]


def _driver_secrets() -> list[str]:
    return [os.environ[n] for n in ENV_PASSWORDS if os.environ.get(n)]


def bind_dates(sql: str, dates: dict[str, date] | None, uri: str) -> tuple[str, list[date]]:
    """The SQL with each `:period_start`-style name replaced by the driver's positional
    placeholder (``$1``.. for PostgreSQL, ``?`` otherwise), and the dates in that order."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}" if _is_postgres(uri) else "?"

    bound = DATE_PARAMETER.sub(placeholder, sql)
    if names and dates is None:
        raise ConfigError(
            f"The query uses :{names[0]}, which needs a period; run it with --period."
        )
    return bound, [dates[n] for n in names] if dates else []


def _sql(source: Source) -> str:
    """The query, or ``select * from <table>`` (the name passed the config's pattern)."""
    return source.query if source.query is not None else f"select * from {source.table}"


def _what(source: Source) -> str:
    return f", table {source.table}" if source.table else ", query"


def _is_postgres(uri: str) -> bool:
    return uri.split(":", 1)[0].lower() in POSTGRES_SCHEMES


def _with_timeout(uri: str, source: Source) -> str:
    """A PostgreSQL URL with a bounded connect timeout (libpq's minimum is 2 s)."""
    if not _is_postgres(uri) or "connect_timeout=" in uri:
        return uri
    separator = "&" if "?" in uri else "?"
    return f"{uri}{separator}connect_timeout={max(2, source.connect_timeout_s)}"


def _sqlite_file(uri: str, where: str) -> Path:
    """The SQLite file of a ``sqlite:///`` URL; it must exist (the driver would create a
    missing one, empty)."""
    path = Path(uri.removeprefix(SQLITE_PREFIX).partition("?")[0]).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{where}: SQLite database file not found: {path}. Check `uri` (a relative "
            "sqlite:///path is taken from the config file's folder)."
        )
    return path


def _read_sqlite(path: Path, sql: str, parameters: list[date]) -> pl.DataFrame:
    """The query's result from a read-only SQLite file. SQLite's columns have no fixed type,
    and the driver infers each column's type from its first batch (a column NULL in the
    first 1,024 rows became an integer, then failed on text): one batch of every row makes
    it infer from all of them (text wherever any value is text)."""
    import adbc_driver_sqlite.dbapi

    with (
        adbc_driver_sqlite.dbapi.connect(f"{path.as_uri()}?mode=ro") as connection,
        connection.cursor() as cursor,
    ):
        cursor.adbc_statement.set_options(**{SQLITE_BATCH_ROWS: str(1 << 30)})
        cursor.execute(sql, parameters or None)
        return pl.DataFrame(cursor.fetch_arrow())


def _failure_message(where: str, uri: str, exc: Exception, secrets: list[str]) -> str:
    """One paragraph: which source and database, the server's own words, what to check."""
    detail = scrub(str(exc).strip(), [uri, *secrets])
    detail = re.sub(r"^[A-Z_]+: ", "", detail)  # the ADBC status code prefix
    detail = re.sub(r"\[([A-Za-z#/@][^\[\]]*)\]", r"(\1)", detail)  # no console markup tags
    detail = " ".join(detail.split())
    if isinstance(exc, ImportError):
        hint = (
            "Install the ADBC driver for this database (pip install adbc-driver-<name>) or "
            "use a postgresql:// or sqlite:/// URL."
        )
    elif isinstance(exc, pl.exceptions.PanicException | pl.exceptions.PolarsError):
        hint = (
            "Give every result column its own name, and cast unusual types (interval, "
            "money, ...) to text or numeric in the query."
        )
    elif _is_postgres(uri):
        hint = (
            "Check that the server is up, the credentials (${NAME} in the uri, PGPASSWORD, "
            "~/.pgpass) and the query or table in the config."
        )
    else:
        hint = "Check the uri and the query or table in the config."
    return f"Cannot read {where}: {detail} {hint}"


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret (longest first) replaced by ``***``."""
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _plain_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Extension columns (PostgreSQL `numeric` arrives as text tagged `arrow.opaque`) as
    their plain storage, so the readers parse them like any text cell: exactly."""
    extension = [n for n, dtype in frame.schema.items() if isinstance(dtype, pl.Extension)]
    if not extension:
        return frame
    return frame.with_columns(pl.col(n).ext.storage() for n in extension)


def _refuse_inexact(name: SourceName, source: Source, frame: pl.DataFrame, where: str) -> None:
    """A float column is already rounded in binary, and a binary or nested one (uuid, bytea,
    arrays) has no text a person would recognise: refuse them rather than guess."""
    used = {source.header_of(c.name) for c in SOURCE_COLUMNS[name]}
    schema = {n: dtype for n, dtype in frame.schema.items() if n in used}
    floats = [n for n, dtype in schema.items() if dtype.is_float()]
    if floats:
        raise DataError(
            f"{source.location}: column(s) {', '.join(floats)} arrive as floating-point "
            f"numbers (real / double precision), which cannot hold amounts exactly. Read "
            f"them as numeric or text in the query (e.g. `amount::numeric(18,2)`, or "
            f"`cast(amount as text)` in SQLite). Source: {where}."
        )
    opaque = [n for n, dtype in schema.items() if dtype == pl.Binary() or dtype.is_nested()]
    if opaque:
        raise DataError(
            f"{source.location}: column(s) {', '.join(opaque)} arrive as binary or nested "
            f"values (uuid, bytea, arrays). Cast them to text in the query (e.g. `id::text`). "
            f"Source: {where}."
        )


def rows_sha256(frame: pl.DataFrame) -> str:
    """sha256 of the rows as read, as CSV text in the order the database returned them."""
    digest = hashlib.sha256()
    for offset in range(0, max(frame.height, 1), HASH_SLICE_ROWS):
        part = frame.slice(offset, HASH_SLICE_ROWS)
        digest.update(part.write_csv(include_header=offset == 0).encode())
    return digest.hexdigest()
