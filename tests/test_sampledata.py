"""`incentcalc sample-data`: deterministic, DATA.md-valid synthetic data with the edge cases
the rules exist for, and a program config that loads and points at the files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.config import SourceName, load_config
from incentcalc.inputs import SOURCE_COLUMNS, Stage
from incentcalc.periods import canonical_label_expr, parse_period
from incentcalc.sampledata import (
    SampleData,
    SampleFormat,
    SampleOptions,
    generate_sample,
    write_sample,
)
from incentcalc.sampledata.plan import (
    DEALS_PER_PARTNER_QUARTER,
    NPS_PER_PARTNER_QUARTER,
    RENEWALS_PER_PARTNER_QUARTER,
    SOURCE_ORDER,
    source_file_name,
)

REPO = Path(__file__).resolve().parents[1]
SMALL = SampleOptions(partners=40, seed=3, deals=1_500, nps=600, renewals=300)
PERIOD = parse_period(SMALL.period)


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return generate_sample(SMALL)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    write_sample(SMALL, folder)
    return folder


def frame(sample: SampleData, source: SourceName) -> pl.DataFrame:
    return sample.frames[source]


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def won_in_period(deals: pl.DataFrame) -> pl.DataFrame:
    return deals.filter(
        (pl.col("stage") == Stage.CLOSED_WON)
        & pl.col("close_date").is_between(PERIOD.start, PERIOD.end)
    )


# Determinism and options ------------------------------------------------------------------


@pytest.mark.parametrize("file_format", list(SampleFormat))
def test_same_seed_writes_identical_bytes(tmp_path: Path, file_format: SampleFormat) -> None:
    options = SampleOptions(partners=25, seed=5, deals=400, nps=100, file_format=file_format)
    write_sample(options, tmp_path / "a")
    write_sample(options, tmp_path / "b")
    first, second = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
    assert len(first) == len(SOURCE_ORDER) + 2  # the sources, program.yaml, program-ledger.yaml
    assert first == second


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    write_sample(SampleOptions(partners=25, seed=5, deals=400), tmp_path / "a")
    write_sample(SampleOptions(partners=25, seed=6, deals=400), tmp_path / "b")
    first, second = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
    assert first["deals.csv"] != second["deals.csv"]
    assert first["partners.csv"] != second["partners.csv"]


def test_row_counts_follow_the_options() -> None:
    options = SampleOptions(partners=30, seed=1, quarters=2, deals=777, nps=123, renewals=45)
    data = generate_sample(options)
    assert frame(data, SourceName.PARTNERS).height == 30
    assert frame(data, SourceName.DEALS).height == 777
    assert frame(data, SourceName.NPS).height == 123
    assert frame(data, SourceName.RENEWALS).height == 45
    quarters = frame(data, SourceName.FX_RATES)["period"].unique().sort().to_list()
    assert quarters == ["2026Q2", "2026Q3", "2026Q4"]


def test_default_row_counts_scale_with_partners_and_quarters() -> None:
    data = generate_sample(SampleOptions(partners=20, quarters=3))
    assert frame(data, SourceName.DEALS).height == DEALS_PER_PARTNER_QUARTER * 20 * 3
    assert frame(data, SourceName.NPS).height == NPS_PER_PARTNER_QUARTER * 20 * 3
    assert frame(data, SourceName.RENEWALS).height == RENEWALS_PER_PARTNER_QUARTER * 20 * 3


def test_activity_spans_the_quarters_and_a_little_of_the_next(sample: SampleData) -> None:
    deals = frame(sample, SourceName.DEALS)
    first = PERIOD.shifted(-3).start
    assert deals["close_date"].min() >= first  # type: ignore[operator]
    assert deals["close_date"].min() < first + timedelta(days=30)  # type: ignore[operator]
    last = deals["close_date"].max()
    assert PERIOD.end < last <= PERIOD.end + timedelta(days=20)  # type: ignore[operator]


def test_too_few_partners_is_a_usage_error() -> None:
    from incentcalc.errors import UsageError

    with pytest.raises(UsageError, match="--partners"):
        generate_sample(SampleOptions(partners=3))


# DATA.md rules ------------------------------------------------------------------------------


def test_every_source_has_the_canonical_columns_and_dtypes(sample: SampleData) -> None:
    for source in SOURCE_ORDER:
        expected = {column.name: column.dtype for column in SOURCE_COLUMNS[source]}
        assert dict(frame(sample, source).schema) == expected, source


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        (SourceName.PARTNERS, ["partner_id"]),
        (SourceName.DEALS, ["deal_id"]),
        (SourceName.NPS, ["response_id"]),
        (SourceName.RENEWALS, ["contract_id", "due_date"]),
        (SourceName.FX_RATES, ["period", "currency"]),
        (SourceName.ADJUSTMENTS, ["adjustment_id"]),
    ],
)
def test_ids_are_unique_and_not_empty(
    sample: SampleData, source: SourceName, keys: list[str]
) -> None:
    data = frame(sample, source)
    assert data.select(keys).null_count().sum_horizontal().item() == 0
    assert not data.select(keys).is_duplicated().any()


def test_targets_are_positive_and_unique_per_partner_period_kpi(sample: SampleData) -> None:
    targets = frame(sample, SourceName.TARGETS).with_columns(canonical_label_expr("period"))
    assert targets["period"].null_count() == 0
    assert (targets["target"] > 0).all()
    assert not targets.select("partner_id", "period", "kpi").is_duplicated().any()


def test_references_point_at_known_partners(sample: SampleData) -> None:
    known = frame(sample, SourceName.PARTNERS)["partner_id"]
    for source in SOURCE_ORDER[1:]:
        data = frame(sample, source)
        if "partner_id" in data.columns:
            assert data["partner_id"].is_in(known.implode()).all(), source


def test_rows_obey_the_value_rules(sample: SampleData) -> None:
    partners = frame(sample, SourceName.PARTNERS)
    deals = frame(sample, SourceName.DEALS)
    renewals = frame(sample, SourceName.RENEWALS)
    nps = frame(sample, SourceName.NPS)
    assert set(partners["status"]) <= {"active", "suspended", "terminated"}
    assert partners.filter(pl.col("left_on") < pl.col("joined_on")).is_empty()
    assert set(deals["stage"]) == {stage.value for stage in Stage}
    closed = deals.filter(pl.col("stage") != Stage.OPEN)
    assert closed["close_date"].null_count() == 0
    assert deals.filter(pl.col("stage") == Stage.OPEN)["close_date"].null_count() > 0
    assert (deals["amount"] >= 0).all()
    assert set(deals["deal_type"].drop_nulls()) == {"new", "expansion", "renewal"}
    assert nps["score"].is_between(0, 10).all()
    assert set(renewals["status"]) == {"renewed", "churned", "pending"}
    renewed = renewals.filter(pl.col("status") == "renewed")
    assert renewed["renewed_amount"].null_count() == 0
    assert frame(sample, SourceName.ADJUSTMENTS).select(
        pl.col("reason").str.len_chars().min() > 0,
        pl.col("approved_by").str.len_chars().min() > 0,
    ).row(0) == (True, True)


def test_every_foreign_currency_has_a_rate_every_quarter(sample: SampleData) -> None:
    rates = frame(sample, SourceName.FX_RATES)
    used = set(frame(sample, SourceName.DEALS)["currency"]) | set(
        frame(sample, SourceName.RENEWALS)["currency"]
    )
    used |= set(frame(sample, SourceName.PARTNERS)["payout_currency"].drop_nulls())
    foreign = used - {"USD"}
    assert {"EUR", "GBP", "JPY"} <= foreign
    quarters = [q.label for q in sample.calendar.rate_quarters]
    for label in quarters:
        assert set(rates.filter(pl.col("period") == label)["currency"]) >= foreign, label
    assert (rates["rate_to_base"] > 0).all()


def test_written_csv_has_two_decimal_amounts_and_six_decimal_rates(written: Path) -> None:
    deals = pl.read_csv(written / "deals.csv", infer_schema=False)
    assert deals["amount"].str.contains(r"^\d+\.\d{2}$").all()
    rates = pl.read_csv(written / "fx_rates.csv", infer_schema=False)
    assert rates["rate_to_base"].str.contains(r"^\d+\.\d{1,6}$").all()
    assert deals.columns == [c.name for c in SOURCE_COLUMNS[SourceName.DEALS]]


# Planted edge cases -------------------------------------------------------------------------


def test_duplicate_deals_are_planted(sample: SampleData) -> None:
    won = frame(sample, SourceName.DEALS).filter(pl.col("stage") == Stage.CLOSED_WON)
    keys = ["partner_id", "customer_id", "amount", "currency", "close_date"]
    duplicated = won.filter(pl.struct(keys).is_duplicated())
    assert duplicated.height >= 2
    assert duplicated["deal_id"].n_unique() == duplicated.height


def test_late_and_missing_registrations_are_planted(sample: SampleData) -> None:
    deals = frame(sample, SourceName.DEALS).filter(pl.col("stage") == Stage.CLOSED_WON)
    assert deals.filter(pl.col("registered_on") > pl.col("close_date")).height > 0
    assert deals["registered_on"].null_count() > 0


def test_reversals_are_planted(sample: SampleData) -> None:
    deals = frame(sample, SourceName.DEALS)
    won = deals.filter(pl.col("stage") == Stage.CLOSED_WON)
    cancelled = deals.filter(pl.col("stage") == Stage.CANCELLED)
    pairs = won.join(cancelled, on=["partner_id", "customer_id"], suffix="_cancel").filter(
        (pl.col("close_date_cancel") - pl.col("close_date")).dt.total_days().is_between(0, 30)
    )
    assert pairs.height > 0


def test_some_partner_spikes_at_quarter_end(sample: SampleData) -> None:
    """A partner with more than 60% of its period deal amounts in the last 10 days."""
    window = PERIOD.end - timedelta(days=9)
    shares = (
        won_in_period(frame(sample, SourceName.DEALS))
        .group_by("partner_id")
        .agg(
            (pl.col("amount").filter(pl.col("close_date") >= window).sum() / pl.col("amount").sum())
            .cast(pl.Float64)
            .alias("share"),
            pl.len().alias("deals"),
        )
        .filter(pl.col("deals") >= 3)
    )
    assert shares.filter(pl.col("share") > 0.6).height > 0
    assert shares.filter(pl.col("share") < 0.6).height > 0


def test_lifecycle_edge_cases_are_planted(sample: SampleData) -> None:
    partners = frame(sample, SourceName.PARTNERS)
    in_period = pl.col("joined_on").is_between(PERIOD.start, PERIOD.end)
    assert partners.filter(in_period).height > 0
    assert partners.filter(pl.col("left_on").is_between(PERIOD.start, PERIOD.end)).height > 0
    assert partners.filter(pl.col("left_on") < PERIOD.start).height > 0
    assert set(partners["status"]) == {"active", "suspended", "terminated"}
    assert set(partners["segment"]) == {"reseller", "distributor", "msp"}
    teams = partners["team_id"].drop_nulls().value_counts()
    assert (teams["count"] >= 2).any()


def test_partner_sizes_are_heavy_tailed(sample: SampleData) -> None:
    per_partner = frame(sample, SourceName.DEALS).group_by("partner_id").len()["len"]
    assert per_partner.max() > 4 * per_partner.median()  # type: ignore[operator]


def test_pending_renewals_and_leaver_adjustments_exist(sample: SampleData) -> None:
    renewals = frame(sample, SourceName.RENEWALS)
    assert (
        renewals.filter(
            (pl.col("status") == "pending")
            & pl.col("due_date").is_between(PERIOD.start, PERIOD.end)
        ).height
        > 0
    )
    partners = frame(sample, SourceName.PARTNERS)
    leavers = partners.filter(pl.col("left_on") <= PERIOD.end)["partner_id"]
    adjustments = frame(sample, SourceName.ADJUSTMENTS).filter(pl.col("period") == PERIOD.label)
    assert adjustments["partner_id"].is_in(leavers.implode()).any()
    assert (adjustments["amount"] < 0).any()


# The program config -------------------------------------------------------------------------


def test_program_loads_and_points_at_the_written_files(written: Path) -> None:
    config = load_config(written / "program.yaml")
    for name, source in config.sources.items():
        assert source.path == (written / source_file_name(name, SampleFormat.CSV)).resolve()
        assert source.path.exists()
    assert set(config.segments) == {"reseller", "distributor", "msp"}
    assert [tier.name for tier in config.tiers] == ["Bronze", "Silver", "Gold", "Platinum"]
    integrity = config.integrity
    rules = (integrity.duplicate_deals, integrity.registration, integrity.quarter_end_spike)
    assert all(rule is not None for rule in (*rules, integrity.reversal))
    assert config.payout.budget is not None and config.payout.cap is not None
    for segment in config.segments.values():
        assert set(config.kpi_target_names()) <= set(segment.targets)


def test_targets_name_kpis_of_the_program(sample: SampleData, written: Path) -> None:
    config = load_config(written / "program.yaml")
    assert set(frame(sample, SourceName.TARGETS)["kpi"]) <= set(config.kpi_target_names())


def test_config_out_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    options = SampleOptions(partners=15, deals=200, file_format=SampleFormat.PARQUET)
    write_sample(options, tmp_path / "sample_data", config_out=tmp_path / "configs" / "p.yaml")
    text = (tmp_path / "configs" / "p.yaml").read_text(encoding="utf-8")
    assert 'deals: {path: "../sample_data/deals.parquet"}' in text
    config = load_config(tmp_path / "configs" / "p.yaml")
    assert config.sources.deals.path == (tmp_path / "sample_data" / "deals.parquet").resolve()


def test_repo_sample_data_is_in_sync_with_the_generator(tmp_path: Path) -> None:
    """`make sample` output is committed: regenerating it must give the same bytes."""
    options = SampleOptions(partners=200, seed=7, period="2026Q3")
    write_sample(
        options, tmp_path / "sample_data", config_out=tmp_path / "configs" / "program.yaml"
    )
    for path in sorted((tmp_path / "sample_data").iterdir()):
        assert (REPO / "sample_data" / path.name).read_bytes() == path.read_bytes(), path.name
    expected = (tmp_path / "configs" / "program.yaml").read_bytes()
    assert (REPO / "configs" / "program.yaml").read_bytes() == expected


# Through the real reader and the CLI --------------------------------------------------------


def test_written_files_pass_load_inputs(written: Path) -> None:
    validation = pytest.importorskip("incentcalc.io.validation")
    config = load_config(written / "program.yaml")
    every_row = validation.check_inputs(config, PERIOD, all_rows=True)
    assert every_row.ok
    assert every_row.inputs[SourceName.DEALS].height == SMALL.deal_rows
    inputs = validation.load_inputs(config, PERIOD)  # the rows the period can use
    assert 0 < inputs[SourceName.DEALS].height < SMALL.deal_rows
    assert inputs.rejected.is_empty()


def test_cli_writes_the_dataset(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from incentcalc.cli.app import app

    result = CliRunner().invoke(
        app,
        [
            "sample-data",
            "--out",
            str(tmp_path),
            "--partners",
            "12",
            "--seed",
            "2",
            "--deals",
            "120",
            "--format",
            "parquet",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"deals": 120' in result.output
    assert pl.read_parquet(tmp_path / "deals.parquet").height == 120
    assert (tmp_path / "program.yaml").exists()


# Any options --------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    partners=st.integers(10, 60),
    deals=st.integers(50, 900),
    quarters=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    quarter=st.sampled_from(["2025Q4", "2026Q1", "2026Q3"]),
)
def test_any_options_give_data_that_obeys_the_contract(
    partners: int, deals: int, quarters: int, seed: int, quarter: str
) -> None:
    """Whatever the options, ids are unique, dates are consistent and every currency used
    has a rate in every quarter of the data."""
    options = SampleOptions(
        partners=partners, seed=seed, period=quarter, quarters=quarters, deals=deals, nps=40
    )
    data = generate_sample(options)
    frames = data.frames
    assert frames[SourceName.PARTNERS].height == partners
    assert frames[SourceName.DEALS].height == deals
    assert frames[SourceName.DEALS]["deal_id"].is_unique().all()
    assert not frames[SourceName.RENEWALS].select("contract_id", "due_date").is_duplicated().any()
    people = frames[SourceName.PARTNERS]
    assert people.filter(pl.col("left_on") < pl.col("joined_on")).is_empty()
    closed = frames[SourceName.DEALS].filter(pl.col("stage") != Stage.OPEN)
    assert closed["close_date"].null_count() == 0
    rates = frames[SourceName.FX_RATES]
    used = set(frames[SourceName.DEALS]["currency"]) | set(frames[SourceName.RENEWALS]["currency"])
    expected = {(q.label, c) for q in data.calendar.rate_quarters for c in used - {"USD"}}
    assert expected <= set(rates.select("period", "currency").iter_rows())
    known = people["partner_id"].implode()
    for source in (SourceName.DEALS, SourceName.NPS, SourceName.RENEWALS, SourceName.TARGETS):
        assert frames[source]["partner_id"].is_in(known).all()


def test_deals_beyond_one_block_are_written_block_by_block_deterministically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above DEAL_CHUNK_ROWS the deals are drawn and written in blocks (bounded memory for
    the bench's 50M deals): ids run on across blocks, the file is the same at every write,
    and a set that fits one block is the in-memory draw exactly."""
    from incentcalc.sampledata import deals as deal_module

    options = SampleOptions(partners=30, seed=3, deals=1_000, file_format=SampleFormat.PARQUET)
    single = generate_sample(options).frames[SourceName.DEALS]
    write_sample(options, tmp_path / "one")
    assert pl.read_parquet(tmp_path / "one" / "deals.parquet").equals(single)

    monkeypatch.setattr(deal_module, "DEAL_CHUNK_ROWS", 300)
    write_sample(options, tmp_path / "a")
    write_sample(options, tmp_path / "b")
    a, b = (tmp_path / name / "deals.parquet" for name in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    deals = pl.read_parquet(a)
    assert deals.height == 1_000
    assert deals["deal_id"].to_list() == [f"D{i:07d}" for i in range(1, 1_001)]
    assert not list((tmp_path / "a").glob(".deals*"))
