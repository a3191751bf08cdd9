"""Sources in a database (DATA.md), through the CLI against a real PostgreSQL and SQLite.

The worked example (tests/fixtures/examples/basic) is loaded into typed tables with other
names and columns (numeric(18,2), date, timestamptz, integer), mapped back with `columns`,
`values`, `query` and `table`, and must pay exactly what the file-based run pays. The server
is started once per test session (per xdist worker) by `tests/postgres.py`; in CI (CI=true)
a missing server fails the tests instead of skipping them.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from conftest import EXAMPLE
from postgres import ServerUnavailable, TemporaryPostgres, free_port, start_postgres

from incentcalc.config import SourceName, load_config
from incentcalc.io.readers import read_source

PERIOD = "2026Q3"
PASSWORD_VARIABLE = "INCENTCALC_TEST_PGPASSWORD"

TABLES = {
    "partners": (
        "crm_partners",
        "pid text, display_name text, seg text, territory text, team text, pay_ccy text, "
        "joined date, departed date, state text",
    ),
    "deals": (
        "crm_opportunities",
        "opp_id text, account_id text, customer text, stage_name text, closed_on date, "
        "amount numeric(18,2), ccy text, kind text, registered_at timestamptz, product text",
    ),
    "nps": (
        "survey_answers",
        "answer_id text, account_id text, customer text, answered_on date, rating integer",
    ),
    "renewals": (
        "renewal_book",
        "contract_no text, account_id text, customer text, due_on date, "
        "original numeric(18,2), renewed numeric(18,2), ccy text, outcome text",
    ),
    "targets": ("quotas", "account_id text, quarter text, measure text, quota numeric(18,2)"),
    "fx_rates": ("fx", "quarter text, ccy text, rate numeric(12,6)"),
    "adjustments": (
        "manual_adjustments",
        "adj_id text, account_id text, quarter text, amount numeric(18,2), why text, approver text",
    ),
}
"""canonical source -> (table, its columns in the example CSV's column order)."""

STAGES = {"closed_won": "Won", "closed_lost": "Lost", "open": "Open", "cancelled": "Cancelled"}

DEALS_QUERY = (
    "select opp_id, account_id, customer, stage_name, closed_on, amount, ccy, kind,\n"
    "       registered_at, product\n"
    "from crm_opportunities\n"
    "where closed_on between :window_start and :window_end or closed_on is null"
)
NPS_QUERY = "select * from survey_answers where answered_on between :window_start and :window_end"
OUT_OF_WINDOW_DEAL = ("D999", "NOBODY", "C999", "Bogus", "2025-01-15", "1.00", "USD")
"""A deal of another year that breaks every rule: read, it would fail validation."""


# -- servers and data -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    """One server per xdist worker (own folder, own port), stopped even when tests fail."""
    try:
        server = start_postgres(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    except ServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a PostgreSQL server for these tests: {exc}")
        pytest.skip(str(exc))
    try:
        _load_example(server)
        yield server
    finally:
        server.stop()


def _column_names(columns: str) -> list[str]:
    return [part.split()[0] for part in columns.split(", ")]


def _load_example(server: TemporaryPostgres) -> None:
    for source, (table, columns) in TABLES.items():
        server.psql(f"create table {table} ({columns})")
        csv = EXAMPLE / f"{source}.csv"
        server.psql(f"\\copy {table} from '{csv}' with (format csv, header true)")
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in STAGES.items())
    server.psql(
        f"update crm_opportunities set stage_name = case stage_name {cases} end, "
        "registered_at = registered_at + interval '13 hours'"
    )
    values = ", ".join(f"'{v}'" for v in OUT_OF_WINDOW_DEAL)
    server.psql(f"insert into crm_opportunities (opp_id, account_id, customer, stage_name, "
                f"closed_on, amount, ccy) values ({values})")  # fmt: skip


def _sqlite_example(path: Path) -> None:
    """The same tables in SQLite: amounts as text (SQLite's numeric is a float), dates as
    ISO text, the NPS score an integer."""
    with sqlite3.connect(path) as db:
        for source, (table, columns) in TABLES.items():
            names = _column_names(columns)
            typed = ", ".join(f"{n} {'integer' if n == 'rating' else 'text'}" for n in names)
            db.execute(f"create table {table} ({typed})")
            frame = pl.read_csv(EXAMPLE / f"{source}.csv", infer_schema=False)
            if source == "deals":
                frame = frame.with_columns(pl.col("stage").replace(STAGES))
            rows = [
                tuple(int(v) if n == "rating" and v else v for n, v in zip(names, r, strict=True))
                for r in frame.iter_rows()
            ]
            marks = ", ".join("?" for _ in names)
            db.executemany(f"insert into {table} values ({marks})", rows)
        db.execute(
            "insert into crm_opportunities (opp_id, account_id, customer, stage_name, "
            "closed_on, amount, ccy) values (?, ?, ?, ?, ?, ?, ?)",
            OUT_OF_WINDOW_DEAL,
        )


def _mapping(source: str) -> dict[str, str]:
    """canonical column -> the table's column, from the example CSV's header order."""
    header = (EXAMPLE / f"{source}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    return dict(zip(header, _column_names(TABLES[source][1]), strict=True))


def database_program(folder: Path, uri: str, **overrides: dict[str, Any]) -> Path:
    """The example program with every source read from `uri`; `overrides` replace, extend
    or (with None) remove keys of single source entries."""
    program = yaml.safe_load((EXAMPLE / "program.yaml").read_text(encoding="utf-8"))
    sources: dict[str, dict[str, Any]] = {}
    for source, (table, _) in TABLES.items():
        entry: dict[str, Any] = {"uri": uri, "table": table, "columns": _mapping(source)}
        if source == "deals":
            entry = {"uri": uri, "query": DEALS_QUERY, "columns": _mapping(source),
                     "values": {"stage": {v: k for k, v in STAGES.items()}}}  # fmt: skip
        elif source == "nps":
            entry = {"uri": uri, "query": NPS_QUERY, "columns": _mapping(source)}
        merged = {**entry, **overrides.get(source, {})}
        sources[source] = {key: value for key, value in merged.items() if value is not None}
    program["sources"] = sources
    path = folder / "program.yaml"
    path.write_text(yaml.safe_dump(program, sort_keys=False), encoding="utf-8")
    return path


def cli(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """incentcalc in its own process, with `env` added to this one's environment."""
    return subprocess.run(
        [sys.executable, "-m", "incentcalc", *map(str, args)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def file_payouts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """payouts.csv of the file-based worked example, through the CLI."""
    out = tmp_path_factory.mktemp("files") / "out"
    done = cli("run", "--config", EXAMPLE / "program.yaml", "--period", PERIOD, "--out", out,
               "--no-statements", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (out / "payouts.csv").read_bytes()


CORE_MONEY = frozenset({"bonus_base", "individual_bonus", "team_bonus", "gross", "holdback",
                        "adjustments", "net", "payable", "payable_local"})  # fmt: skip


def assert_pays_the_example(out: Path, file_payouts: bytes) -> None:
    """Byte-identical to the file run, and equal to expected_payouts.csv (Decimal, to the
    cent) in every column both have. A column in which the engine's own file-based run
    differs from the expected file is the engine's business (golden tests), not the
    reader's: it is left out here, but never one of the core money columns."""
    assert (out / "payouts.csv").read_bytes() == file_payouts
    got = pl.read_csv(out / "payouts.csv", infer_schema=False)
    expected = pl.read_csv(EXAMPLE / "expected_payouts.csv", infer_schema=False)
    assert got["partner_id"].to_list() == expected["partner_id"].to_list()
    shared = [c for c in expected.columns if c in got.columns]
    engine_gaps = {
        column
        for column in shared
        if not all(_same(a, b) for a, b in zip(got[column], expected[column], strict=True))
    }
    assert set(shared) >= CORE_MONEY and not CORE_MONEY & engine_gaps, engine_gaps
    compared = [c for c in shared if c not in engine_gaps]
    assert len(compared) >= 25
    for column in compared:
        for mine, theirs in zip(got[column], expected[column], strict=True):
            assert _same(mine, theirs), column


def _same(left: str | None, right: str | None) -> bool:
    try:
        return Decimal(left or "0") == Decimal(right or "0")
    except ArithmeticError:
        return left == right


def assert_password_nowhere(password: str, done: subprocess.CompletedProcess[str],
                            *paths: Path) -> None:  # fmt: skip
    """Not in stdout, stderr or any file under `paths` (output folders, logs, reports)."""
    assert password not in done.stdout
    assert password not in done.stderr
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for file in files:
            assert password.encode() not in file.read_bytes(), file
            if zipfile.is_zipfile(file):  # workbooks: look inside the compressed parts
                with zipfile.ZipFile(file) as archive:
                    for part in archive.namelist():
                        assert password.encode() not in archive.read(part), (file, part)


def secret_env(server: TemporaryPostgres, password: str | None = None) -> dict[str, str]:
    return {PASSWORD_VARIABLE: server.password if password is None else password}


# -- paying the worked example ------------------------------------------------------------


def test_postgres_program_pays_the_worked_example(
    postgres: TemporaryPostgres, tmp_path: Path, file_payouts: bytes
) -> None:
    uri = postgres.uri(f"${{{PASSWORD_VARIABLE}}}")
    config = database_program(tmp_path, uri)
    out, log = tmp_path / "out", tmp_path / "run.log"
    done = cli("run", "--config", config, "--period", PERIOD, "--out", out,
               "--log-file", log, "--json", env=secret_env(postgres))  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert_pays_the_example(out, file_payouts)
    assert_password_nowhere(postgres.password, done, out, log, config)

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    inputs = {entry["source"]: entry for entry in manifest["inputs"]}
    database = f"postgresql://127.0.0.1:{postgres.port}/warehouse"
    deals = inputs["deals"]
    assert deals["rows"] == 12  # the 2025 deal is outside the window: the database left it
    query_hash = hashlib.sha256(DEALS_QUERY.encode()).hexdigest()
    assert deals["database"] == {"url": database, "query_sha256": query_hash,
                                 "rows_sha256": deals["sha256"]}  # fmt: skip
    assert deals["path"] == f"{database} (query {query_hash[:12]})"
    assert inputs["partners"]["database"]["table"] == "crm_partners"
    assert inputs["partners"]["path"] == f"{database} (table crm_partners)"
    assert inputs["partners"]["rows"] == 8
    assert all(len(entry["sha256"]) == 64 for entry in inputs.values())


def test_sqlite_program_pays_the_worked_example(tmp_path: Path, file_payouts: bytes) -> None:
    """`sqlite:///name.db` is relative to the config file, wherever the run starts."""
    _sqlite_example(tmp_path / "warehouse.db")
    config = database_program(tmp_path, "sqlite:///warehouse.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    done = cli("run", "--config", config, "--period", PERIOD, "--out", out, "--quiet",
               cwd=elsewhere)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_pays_the_example(out, file_payouts)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    deals = next(entry for entry in manifest["inputs"] if entry["source"] == "deals")
    assert deals["rows"] == 12
    assert deals["database"]["url"] == f"sqlite:///{tmp_path / 'warehouse.db'}"


def test_pgpassword_from_the_environment_works_and_stays_secret(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    config = database_program(tmp_path, postgres.uri())
    report, log = tmp_path / "report.csv", tmp_path / "validate.log"
    done = cli("validate", "--config", config, "--period", PERIOD, "--report", report,
               "--log-file", log, env={"PGPASSWORD": postgres.password})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "All sources are valid" in done.stdout
    assert f"127.0.0.1:{postgres.port}/warehouse (table crm_partners)" in done.stdout
    assert_password_nowhere(postgres.password, done, log, config)


# -- exact types ----------------------------------------------------------------------------


def test_numeric_date_timestamptz_and_integer_come_through_exactly(
    postgres: TemporaryPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.psql(
        "create table big_deals as select * from crm_opportunities where false; "
        "insert into big_deals values "
        "('X1', 'P1', 'C1', 'Won', '2026-09-30', 12345678901234.57, 'USD', 'new', "
        "'2026-09-30 22:30:00+00', 'Core'), "
        "('X2', 'P1', 'C2', 'Won', '2026-07-01', 0.10, 'USD', null, null, null)"
    )
    monkeypatch.setenv(PASSWORD_VARIABLE, postgres.password)
    config = load_config(
        database_program(
            tmp_path,
            postgres.uri(f"${{{PASSWORD_VARIABLE}}}"),
            deals={"query": "select * from big_deals order by opp_id"},
        )
    )
    read = read_source(SourceName.DEALS, config.sources.deals)
    assert read.failures.height == 0
    rows = read.frame.select("deal_id", "amount", "close_date", "registered_on").rows()
    assert rows == [
        ("X1", Decimal("12345678901234.57"), date(2026, 9, 30), date(2026, 9, 30)),
        ("X2", Decimal("0.10"), date(2026, 7, 1), None),
    ]
    assert isinstance(read.frame.schema["amount"], pl.Decimal)


def test_rows_sha256_tells_runs_on_different_data_apart(
    postgres: TemporaryPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incentcalc.io.database import read_database

    postgres.psql("create table fx_copy as select * from fx")
    monkeypatch.setenv(PASSWORD_VARIABLE, postgres.password)
    config = load_config(database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"),
                                          fx_rates={"table": "fx_copy"}))  # fmt: skip
    source = config.sources.fx_rates
    assert source is not None

    def digest() -> str:
        return read_database(SourceName.FX_RATES, source, None).rows_sha256

    first = digest()
    assert digest() == first
    postgres.psql("update fx_copy set rate = rate + 0.000001 where ccy = 'EUR'")
    assert digest() != first


def test_sqlite_columns_are_typed_from_every_row(tmp_path: Path) -> None:
    """SQLite has no column types: a column empty in the first few thousand rows, or with
    whole numbers before a decimal, is still read whole (and exactly)."""
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("create table opportunities (id text, account text, customer text, "
                   "stage text, closed text, amount, ccy text, registered text)")  # fmt: skip
        rows = [(f"D{i}", "P1", "C1", "open", None, i, "USD", None) for i in range(3000)]
        rows.append(("D9", "P1", "C1", "closed_won", "2026-08-01", "12345678901234.57", "USD",
                     "2026-07-01"))  # fmt: skip
        db.executemany("insert into opportunities values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    config = database_program(tmp_path, "sqlite:///crm.db", deals={
        "query": "select * from opportunities", "values": None,
        "columns": {"deal_id": "id", "partner_id": "account", "customer_id": "customer",
                    "close_date": "closed", "currency": "ccy", "registered_on": "registered"},
    })  # fmt: skip
    read = read_source(SourceName.DEALS, load_config(config).sources.deals)
    assert read.failures.height == 0
    assert read.frame.height == 3001
    last = read.frame.row(-1, named=True)
    assert (last["amount"], last["close_date"], last["registered_on"]) == (
        Decimal("12345678901234.57"), date(2026, 8, 1), date(2026, 7, 1))  # fmt: skip
    assert read.frame["amount"][2999] == Decimal(2999)


def test_a_float_amount_is_refused_not_rounded(postgres: TemporaryPostgres, tmp_path: Path
                                               ) -> None:  # fmt: skip
    query = DEALS_QUERY.replace("amount,", "amount::double precision as amount,")
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"),
                              deals={"query": query})  # fmt: skip
    done = cli("validate", "--config", config, "--period", PERIOD, env=secret_env(postgres))
    assert done.returncode == 1
    assert "floating-point" in done.stdout
    assert "amount::numeric(18,2)" in done.stdout


# -- the period's dates are bound, and the database filters --------------------------------


def test_without_the_window_the_other_years_deal_is_read_and_fails(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    """The control for the runs above: the 2025 deal is in the table, and bad. A query
    without the window still leaves it out of the period's validation (the readers apply the
    window to every source); `validate --all-rows` reads and checks it."""
    whole = {"query": "select * from crm_opportunities order by opp_id", "values": {"stage": {
        **{v: k for k, v in STAGES.items()}, "Bogus": "bogus"}}}  # fmt: skip
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"), deals=whole)
    report = tmp_path / "failures.csv"
    period_only = cli("validate", "--config", config, "--period", PERIOD,
                      env=secret_env(postgres))  # fmt: skip
    assert period_only.returncode == 0, period_only.stdout
    done = cli("validate", "--config", config, "--period", PERIOD, "--report", report,
               "--all-rows", env=secret_env(postgres))  # fmt: skip
    assert done.returncode == 1
    failures = pl.read_csv(report, infer_schema=False)
    assert set(failures.filter(pl.col("row") == "13")["column"]) >= {"stage", "partner_id"}


def test_window_parameters_are_bound_dates(postgres: TemporaryPostgres, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    query = ("select :period_start::date as ps, :period_end::date as pe, "
             ":window_start::date as ws, :window_end::date as we, * from crm_opportunities "
             "where closed_on between :period_start and :period_end")  # fmt: skip
    monkeypatch.setenv(PASSWORD_VARIABLE, postgres.password)
    config = load_config(database_program(
        tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"), deals={"query": query}
    ))  # fmt: skip
    from incentcalc.io.database import read_database

    dates = {"period_start": date(2026, 7, 1), "period_end": date(2026, 9, 30),
             "window_start": date(2026, 5, 31), "window_end": date(2026, 10, 31)}  # fmt: skip
    frame = read_database(SourceName.DEALS, config.sources.deals, dates).frame
    assert frame.select("ps", "pe", "ws", "we").unique().rows() == [tuple(dates.values())]
    assert sorted(frame["opp_id"]) == ["D001", "D002", "D003", "D005", "D007", "D008",
                                       "D009", "D010", "D011"]  # fmt: skip


# -- failures: exit 2, the source, host, database and the server's words -------------------


def _failing_run(config: Path, tmp_path: Path, env: dict[str, str]) -> tuple[str, Path]:
    out, log = tmp_path / "out", tmp_path / "fail.log"
    started = time.monotonic()
    done = cli("run", "--config", config, "--period", PERIOD, "--out", out,
               "--log-file", log, env=env)  # fmt: skip
    assert time.monotonic() - started < 60
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    for secret in env.values():
        assert_password_nowhere(secret, done, log)
    return " ".join(done.stderr.split()), log


@pytest.mark.parametrize(
    ("override", "server_words"),
    [
        ({"table": "no_such_table"}, 'relation "no_such_table" does not exist'),
        ({"query": "select 1/0 as pid"}, "division by zero"),
        ({"query": "selec pid from crm_partners"}, 'syntax error at or near "selec"'),
    ],
)
def test_unknown_table_and_failing_sql_exit_2(
    postgres: TemporaryPostgres, tmp_path: Path, override: dict[str, str], server_words: str
) -> None:
    partners = {"table": None, **override}
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"),
                              partners=partners)  # fmt: skip
    message, _ = _failing_run(config, tmp_path, secret_env(postgres))
    assert "sources.partners" in message
    assert f"127.0.0.1:{postgres.port}/warehouse" in message
    assert server_words in message


def test_refused_credentials_exit_2_without_the_password(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"))
    wrong = "Wr0ng-Passw0rd-" + postgres.password[:6]
    message, _ = _failing_run(config, tmp_path, secret_env(postgres, wrong))
    assert 'password authentication failed for user "postgres"' in message
    assert f"127.0.0.1:{postgres.port}/warehouse" in message


def test_unreachable_server_exit_2(tmp_path: Path) -> None:
    uri = f"postgresql://reader:${{{PASSWORD_VARIABLE}}}@127.0.0.1:{free_port()}/crm"
    config = database_program(tmp_path, uri)
    message, _ = _failing_run(config, tmp_path, {PASSWORD_VARIABLE: "s3cret-unreachable"})
    assert "sources.partners" in message
    assert "127.0.0.1" in message and "/crm" in message
    assert "Connection refused" in message


def test_a_silent_server_times_out_after_connect_timeout_s(tmp_path: Path) -> None:
    """A server that accepts the connection and never answers: exit 2 after the timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        uri = f"postgresql://reader@127.0.0.1:{port}/crm"
        config = database_program(tmp_path, uri, partners={"connect_timeout_s": 2})
        started = time.monotonic()
        message, _ = _failing_run(config, tmp_path, {})
        assert time.monotonic() - started < 30
        assert "sources.partners" in message and f"127.0.0.1:{port}/crm" in message
        assert "timeout" in message.lower()
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_unset_variable_is_a_config_error_naming_it(tmp_path: Path) -> None:
    config = database_program(tmp_path, "postgresql://reader:${NOT_SET_ANYWHERE}@127.0.0.1/crm")
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE"}
    done = subprocess.run([sys.executable, "-m", "incentcalc", "validate", "--config",
                           str(config), "--period", PERIOD], capture_output=True, text=True,
                          env=env, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "NOT_SET_ANYWHERE" in done.stderr and "sources.partners" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_written_in_the_config_is_refused_and_not_repeated(tmp_path: Path) -> None:
    config = database_program(tmp_path, "postgresql://reader:Hunter2Secret@127.0.0.1/crm")
    log = tmp_path / "refused.log"
    done = cli("validate", "--config", config, "--period", PERIOD, "--log-file", log)
    assert done.returncode == 2
    assert "holds a password" in done.stderr
    assert_password_nowhere("Hunter2Secret", done, log)


# -- validate, explain and diff on database sources ------------------------------------


def test_validate_names_the_database_row_that_fails(postgres: TemporaryPostgres, tmp_path: Path
                                                    ) -> None:  # fmt: skip
    query = DEALS_QUERY + " order by opp_id"
    bad = query.replace("amount,", "case when opp_id = 'D003' then -5 else amount end "
                        "as amount,")  # fmt: skip
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"),
                              deals={"query": bad})  # fmt: skip
    report = tmp_path / "failures.csv"
    done = cli("validate", "--config", config, "--period", PERIOD, "--report", report,
               env=secret_env(postgres))  # fmt: skip
    assert done.returncode == 1, done.stderr
    failures = pl.read_csv(report, infer_schema=False)
    digest = hashlib.sha256(bad.encode()).hexdigest()[:12]
    location = f"postgresql://127.0.0.1:{postgres.port}/warehouse (query {digest})"
    assert failures.select("file", "row", "column").rows() == [(location, "3", "amount")]


def test_explain_reads_database_sources(postgres: TemporaryPostgres, tmp_path: Path) -> None:
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"))
    done = cli("explain", "--config", config, "--period", PERIOD, "--partner", "P1", "--json",
               env=secret_env(postgres))  # fmt: skip
    assert done.returncode == 0, done.stderr
    explained = json.loads(done.stdout)
    assert sorted(d["deal_id"] for d in explained["deals"]) == ["D001", "D002", "D003", "D004"]
    assert postgres.password not in done.stdout
    where = {kpi["rows_behind"]["source"]: kpi["rows_from"] for kpi in explained["kpis"]}
    server = f"postgresql://127.0.0.1:{postgres.port}/warehouse"
    assert where["deals"].startswith(f"{server} (query ")
    assert where["renewals"] == f"{server} (table {TABLES['renewals'][0]})"


def _scans(server: TemporaryPostgres) -> dict[str, int]:
    """Sequential scans per table so far (each read of a table or query is one)."""
    rows = server.psql("select relname, seq_scan from pg_stat_user_tables")
    return {name: int(count) for name, count in (line.split("|") for line in rows.split())}


def _diff_scans(server: TemporaryPostgres, folder: Path, change: dict[str, Any]
                ) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:  # fmt: skip
    """`incentcalc diff` of the database program against a copy with `change` applied;
    the CLI's result and how often it read each table."""
    baseline = database_program(folder, server.uri(f"${{{PASSWORD_VARIABLE}}}"))
    program = {**yaml.safe_load(baseline.read_text(encoding="utf-8")), **change}
    candidate = folder / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(program, sort_keys=False), encoding="utf-8")
    before = _scans(server)
    done = cli("diff", "--baseline", baseline, "--candidate", candidate, "--period", PERIOD,
               "--json", env=secret_env(server))  # fmt: skip
    after = _scans(server)
    return done, {table: after[table] - before[table] for table, _ in TABLES.values()}


def test_diff_reads_each_database_source_once(postgres: TemporaryPostgres, tmp_path: Path
                                              ) -> None:  # fmt: skip
    payout = yaml.safe_load((EXAMPLE / "program.yaml").read_text(encoding="utf-8"))["payout"]
    done, reads = _diff_scans(postgres, tmp_path, {"payout": {**payout, "holdback_pct": 0}})
    assert done.returncode == 0, done.stderr
    assert reads == {table: 1 for table, _ in TABLES.values()}
    assert json.loads(done.stdout)["status"] == "ok"
    assert postgres.password not in done.stdout


def test_a_longer_reversal_window_reads_the_candidates_own_rows(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    """The window follows the reversal rule, so such a candidate cannot reuse the rows."""
    reversal = {"integrity": {"reversal": {"within_days": 60, "action": "exclude"}}}
    done, reads = _diff_scans(postgres, tmp_path, reversal)
    assert done.returncode == 0, done.stderr
    assert reads["crm_opportunities"] == 2


def test_a_whole_url_from_the_environment_and_a_pgpass_file(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres.port}:warehouse:postgres:{postgres.password}\n")
    pgpass.chmod(0o600)
    config = database_program(tmp_path, "${INCENTCALC_TEST_URL}")
    env = {"INCENTCALC_TEST_URL": postgres.uri(), "PGPASSFILE": str(pgpass)}
    out = tmp_path / "out"
    done = cli("run", "--config", config, "--period", PERIOD, "--out", out, env=env)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    partners = manifest["inputs"][0]
    assert partners["path"] == "${INCENTCALC_TEST_URL} (table crm_partners)"  # as configured
    assert partners["database"]["url"] == f"postgresql://127.0.0.1:{postgres.port}/warehouse"
    assert_password_nowhere(postgres.password, done, config, out)


# -- config checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"uri": "sqlite:///a.db", "path": "a.csv", "table": "t"}, "exactly one of `path`"),
        ({"columns": {}}, "exactly one of `path`"),
        ({"uri": "sqlite:///a.db"}, "exactly one of `query` or `table`"),
        ({"uri": "sqlite:///a.db", "table": "t", "query": "select 1"}, "exactly one of `query`"),
        ({"path": "a.csv", "table": "t"}, "table applies only to a database `uri`"),
        ({"uri": "sqlite:///a.db", "table": "t", "encoding": "latin-1"},
         "encoding applies only to a file `path`"),
        ({"uri": "sqlite:///a.db", "table": "t; drop table x"}, "should match pattern"),
        ({"uri": "sqlite:///a.db", "table": "t", "connect_timeout_s": 0}, "greater than or equal"),
        ({"uri": "postgresql://h/db?password=Pl41nText", "table": "t"}, "holds a password"),
    ],
)  # fmt: skip
def test_database_source_config_errors(entry: dict[str, Any], words: str) -> None:
    from incentcalc.config import parse_config
    from incentcalc.errors import ConfigError

    program = yaml.safe_load((EXAMPLE / "program.yaml").read_text(encoding="utf-8"))
    program["sources"]["partners"] = entry
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(program), EXAMPLE / "program.yaml")
    assert "sources.partners" in str(caught.value) and words in str(caught.value)
    assert "Pl41nText" not in str(caught.value)


def test_an_empty_result_is_an_empty_source_with_a_warning(
    postgres: TemporaryPostgres, tmp_path: Path
) -> None:
    """As a header-only file (DATA.md): no rows is an empty source, said, not an error."""
    empty = {"query": "select * from survey_answers where false"}
    config = database_program(tmp_path, postgres.uri(f"${{{PASSWORD_VARIABLE}}}"), nps=empty)
    done = cli("validate", "--config", config, "--period", PERIOD, "--json",
               env=secret_env(postgres))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any("nps source" in w and "has no data rows" in w
               for w in json.loads(done.stdout)["warnings"])  # fmt: skip
