"""The program config (CONFIG.md) as frozen pydantic models, and its loader.

Numbers are exact `Decimal`s taken from their written form: the YAML loader never builds a
binary float, so ``0.035`` is 35/1000. Every config error names the key path, the value and
what is allowed, and exits with code 2.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from incentcalc.errors import ConfigError

MAX_CONFIG_PLACES = 6
"""Decimal places allowed for rates, shares, weights and thresholds in the config."""

MAX_MONEY_PLACES = 2

MAX_CONFIG_DIGITS = 12
"""Config numbers have at most this many digits before the point (below a trillion): far
above any real rate, score or amount, and small enough that the engine's exact
Decimal(38, ...) arithmetic cannot overflow on them."""


class Rounding(StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


class Metric(StrEnum):
    REVENUE = "revenue"
    EXPANSION_REVENUE = "expansion_revenue"
    WON_DEALS = "won_deals"
    NEW_LOGOS = "new_logos"
    WIN_RATE = "win_rate"
    AVG_DEAL_SIZE = "avg_deal_size"
    NPS = "nps"
    GROSS_RENEWAL_RATE = "gross_renewal_rate"
    NET_REVENUE_RETENTION = "net_revenue_retention"
    LOGO_RETENTION = "logo_retention"


ADDITIVE_METRICS = frozenset(
    {Metric.REVENUE, Metric.EXPANSION_REVENUE, Metric.WON_DEALS, Metric.NEW_LOGOS}
)
"""Metrics whose attainment target is prorated for partners active part of the quarter."""

MONEY_METRICS = frozenset({Metric.REVENUE, Metric.EXPANSION_REVENUE})
"""Metrics that can serve as `payout.base`."""


class WhenMissing(StrEnum):
    NEUTRAL = "neutral"
    ZERO = "zero"


class Action(StrEnum):
    EXCLUDE = "exclude"
    HOLD = "hold"
    FLAG = "flag"


def _to_decimal(value: Any) -> Any:
    """Accept YAML numbers and numeric strings; never go through a binary float."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a finite number, got {value!r}")
        if number and number.adjusted() >= MAX_CONFIG_DIGITS:  # adjusted(): no rounding
            raise ValueError(
                f"expected a number with at most {MAX_CONFIG_DIGITS} digits before the "
                f"decimal point, got {value!r}"
            )
        return number
    return value


def _places(limit: int) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, Decimal):
            return value  # not a number: the Decimal validator reports it with the key path
        if _decimal_places(value) > limit:
            raise ValueError(f"at most {limit} decimal places allowed, got {value}")
        return value

    return BeforeValidator(check)


def _decimal_places(value: Decimal) -> int:
    """Decimal places of `value` once trailing zeros are dropped (``2000.00`` -> 0).

    Counted from the digits, not with ``normalize()``: that rounds to the decimal context, so
    ``1e-999999999`` became 0 (passing as 0 places) and ``1e999999999`` raised Overflow.
    """
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN/infinity: rejected by `_to_decimal`
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + zeros)) if any(digits) else 0


Number = Annotated[Decimal, _places(MAX_CONFIG_PLACES), BeforeValidator(_to_decimal)]
Money = Annotated[Decimal, Field(ge=0), _places(MAX_MONEY_PLACES), BeforeValidator(_to_decimal)]
Share = Annotated[
    Decimal, Field(ge=0, le=1), _places(MAX_CONFIG_PLACES), BeforeValidator(_to_decimal)
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProgramInfo(_Model):
    name: str = Field(min_length=1)
    base_currency: Currency
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    rounding: Rounding = Rounding.HALF_UP


class SourceName(StrEnum):
    PARTNERS = "partners"
    DEALS = "deals"
    NPS = "nps"
    RENEWALS = "renewals"
    TARGETS = "targets"
    FX_RATES = "fx_rates"
    ADJUSTMENTS = "adjustments"


TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$"
"""A table or view name, optionally schema- (and catalog-) qualified. Written into the SQL
as is (so the database's own case rules apply), which is safe because nothing else passes."""

MAX_HEADER_ROW = 1_000_000
"""Far below any real title block, and small enough for the readers' row arithmetic."""

FILE_ONLY = frozenset({"delimiter", "encoding", "sheet", "skip_rows", "header_row"})
DATABASE_ONLY = frozenset({"query", "table", "connect_timeout_s"})
"""Options that mean nothing for the other kind of source: a config error, not ignored."""

SECRET_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


class Source(_Model):
    """Where one canonical source comes from and how its export maps onto it (DATA.md).

    Exactly one of `path` (a file) or `uri` (a database, DATA.md "Sources in a database");
    a database source reads `query` or `table`, exactly one.
    """

    path: Path | None = None
    uri: str | None = Field(default=None, min_length=1)
    query: str | None = Field(default=None, min_length=1)
    table: str | None = Field(default=None, pattern=TABLE_NAME)
    connect_timeout_s: int = Field(default=10, ge=1, le=3600)
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    date_format: str | dict[str, str] | None = None
    header_row: int = Field(default=1, ge=1, le=MAX_HEADER_ROW)
    skip_rows: int = Field(default=0, ge=0)
    skip_rows_where: dict[str, list[str]] | list[dict[str, list[str]]] = Field(default_factory=dict)
    """`{column: [values]}`: a row matching any column is skipped; a list of such mappings:
    a row matching every column of one of them is skipped (`{amount: [""], stage: [open]}`)."""
    defaults: dict[str, str] = Field(default_factory=dict)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    sheet: str | int | None = None
    thousands_separator: str | None = Field(default=None, min_length=1, max_length=1)
    decimal_separator: Literal[".", ","] = "."
    currency_symbols: list[str] = Field(default_factory=list)
    null_values: list[str] = Field(default_factory=list)
    fill_empty: dict[str, str] = Field(default_factory=dict)
    credits: bool = False
    from_: Literal["deals"] | None = Field(default=None, alias="from")

    @field_validator("defaults", "fill_empty", mode="before")
    @classmethod
    def _defaults_as_text(cls, value: Any) -> Any:
        # Only scalars become text: str() of a list or mapping is never a wanted constant, and
        # on a YAML alias bomb ("billion laughs") it would expand billions of items.
        if isinstance(value, dict):
            return {key: _scalar_text(item) for key, item in value.items()}
        return value

    @field_validator("skip_rows_where", mode="before")
    @classmethod
    def _skipped_values_as_text(cls, value: Any) -> Any:
        # `score: ["", 11]` lists cells as written: numbers become their text, `~` an empty cell
        def as_text(rule: Any) -> Any:
            if not isinstance(rule, dict):
                return rule
            return {
                key: [_scalar_text(i) for i in items] if isinstance(items, list) else items
                for key, items in rule.items()
            }

        return [as_text(rule) for rule in value] if isinstance(value, list) else as_text(value)

    @property
    def skip_rules(self) -> list[dict[str, list[str]]]:
        """`skip_rows_where` as rules, each skipping the rows that match all its columns."""
        if isinstance(self.skip_rows_where, list):
            return self.skip_rows_where
        return [{column: values} for column, values in self.skip_rows_where.items()]

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("a path cannot contain a NUL character")
        return value

    @field_validator("uri")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        """A password written in the config would end up in backups and diffs: refuse it
        without repeating it."""
        if value is not None and _literal_password(value):
            raise ValueError(
                "the uri holds a password; never write one in the config. Write "
                "${NAME} in its place (read from the environment variable NAME) or set "
                "PGPASSWORD / ~/.pgpass"
            )
        return value

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if self.from_ is not None:
            return self._derived_only()
        if (self.path is None) == (self.uri is None):
            raise ValueError(
                "give exactly one of `path` (a file), `uri` (a database) or, for partners, "
                "`from: deals`"
            )
        misplaced = (DATABASE_ONLY if self.uri is None else FILE_ONLY) & self.model_fields_set
        if misplaced:
            kind = "a database `uri`" if self.uri is None else "a file `path`"
            verb = "applies" if len(misplaced) == 1 else "apply"
            raise ValueError(f"{', '.join(sorted(misplaced))} {verb} only to {kind}")
        if self.uri is not None and (self.query is None) == (self.table is None):
            raise ValueError("a database source needs exactly one of `query` or `table`")
        return self

    def _derived_only(self) -> Source:
        """`from: deals` (DATA.md): the partners are the deals' partner_ids, every other
        column a constant of `defaults` (`date_format` may say how its dates are written)."""
        extra = self.model_fields_set - {"from_", "defaults", "date_format"}
        if extra:
            given = ", ".join(sorted(extra))
            raise ValueError(
                f"`from: deals` takes only `defaults` (and `date_format`), not {given}: the "
                "partner_id and partner_name columns come from the deals source (map them under "
                "sources.deals.columns)"
            )
        return self

    @property
    def location(self) -> Path | str:
        """Where the rows come from, as failures, reports and the manifest name it: the file,
        or the database without credentials and what is read there
        (``postgresql://db.example.com:5432/crm (table opportunities)``; a query is named by
        the start of its sha256, as in the manifest)."""
        if self.path is not None:
            return self.path
        if self.from_ is not None:
            return "partners from deals"
        what = f"table {self.table}" if self.table else f"query {query_sha256(self)[:12]}"
        return f"{public_url(self.uri or '')} ({what})"

    @model_validator(mode="after")
    def _separators_differ(self) -> Source:
        if self.thousands_separator == self.decimal_separator:
            other = "," if self.decimal_separator == "." else "."
            raise ValueError(
                f"thousands_separator {self.thousands_separator!r} is also the decimal "
                f"separator, so 1{self.decimal_separator}234 could mean two different numbers; "
                f"for numbers written like 1{self.decimal_separator}234{other}56 set "
                f"decimal_separator: {other!r}"
            )
        return self

    def header_of(self, column: str) -> str:
        """The export's header of a canonical column (`columns` maps it; else the same name)."""
        return self.columns.get(column, column)

    def date_format_of(self, column: str) -> str | None:
        """The strptime format of one date column (None: ISO `YYYY-MM-DD`)."""
        if isinstance(self.date_format, dict):
            return self.date_format.get(column)
        return self.date_format


def _scalar_text(item: Any) -> Any:
    """A YAML scalar as the text a cell holds (`~` is an empty cell); lists and mappings are
    left for pydantic to reject."""
    if item is None:
        return ""
    return item if isinstance(item, dict | list) else str(item)


def query_sha256(source: Source) -> str:
    """sha256 of the SQL a database source runs, as written in the config."""
    return hashlib.sha256((source.query or f"table {source.table}").encode()).hexdigest()


def public_url(uri: str) -> str:
    """The URL without user, password, options or fragment: safe for any message or file
    (``postgresql://ro:${PW}@db:5432/crm?sslmode=require`` -> ``postgresql://db:5432/crm``)."""
    if "://" not in uri:
        return uri.partition("?")[0]
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _literal_password(uri: str) -> bool:
    """True when the URI's user info or query string carries a password that is not a
    ``${NAME}`` reference to the environment."""
    parts = urlsplit(uri)
    secrets = [parts.password or ""] + [
        value
        for key, value in parse_qsl(parts.query)
        if key.strip().lower() in {"password", "sslpassword"}
    ]
    return any(secret and not SECRET_REFERENCE.match(secret) for secret in secrets)


DERIVED_PARTNER_DEFAULTS = ("segment", "joined_on", "status")
"""Partners columns `partners: {from: deals}` must be given in `defaults`."""


class Sources(_Model):
    """The configured sources. `nps` and `renewals` may be left out when no KPI or gate reads
    them (a revenue-only program); `validation.check_needed_sources` says which are needed."""

    partners: Source
    deals: Source
    nps: Source | None = None
    renewals: Source | None = None
    targets: Source | None = None
    fx_rates: Source | None = None
    adjustments: Source | None = None

    @model_validator(mode="after")
    def _derived_and_credits(self) -> Sources:
        """`from: deals` only for partners, with the partners columns every partner needs;
        `credits` only for deals (DATA.md)."""
        for name, source in self.items():
            if source.from_ is not None and name is not SourceName.PARTNERS:
                raise ValueError(f"{name}: `from: deals` is for the partners source only")
            if source.credits and name is not SourceName.DEALS:
                raise ValueError(f"{name}: `credits: true` is for the deals source only")
        if self.partners.from_ is not None:
            lacking = [c for c in DERIVED_PARTNER_DEFAULTS if c not in self.partners.defaults]
            if lacking:
                raise ValueError(
                    f"partners: `from: deals` needs {', '.join(lacking)} in `defaults` (e.g. "
                    "`defaults: {segment: reseller, joined_on: 2020-01-01, status: active}`): "
                    "the deals export does not say them"
                )
        return self

    @property
    def partners_from_deals(self) -> bool:
        """True when the partners are the deals' partner_ids (no partner master)."""
        return self.partners.from_ is not None

    def items(self) -> list[tuple[SourceName, Source]]:
        """The configured sources in canonical order."""
        found = [(name, getattr(self, name.value)) for name in SourceName]
        return [(name, source) for name, source in found if source is not None]


class AttainmentCurve(_Model):
    threshold: Number = Decimal(0)
    cap: Number | None = None


class LinearCurve(_Model):
    floor: Number = Decimal(0)
    target: Number
    cap: Number | None = None

    @model_validator(mode="after")
    def _target_above_floor(self) -> LinearCurve:
        if self.target <= self.floor:
            raise ValueError(f"target ({self.target}) must be greater than floor ({self.floor})")
        return self


class ScoreCurve(_Model):
    """Exactly one of the three curves of RULES.md 5."""

    attainment: AttainmentCurve | None = None
    linear: LinearCurve | None = None
    steps: list[tuple[Number, Number]] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ScoreCurve:
        chosen = [n for n in ("attainment", "linear", "steps") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"give exactly one of attainment, linear, steps (got {chosen or 'none'})"
            )
        if self.steps is not None:
            if not self.steps:
                raise ValueError("steps must list at least one [min_value, score] pair")
            bounds = [step[0] for step in self.steps]
            if any(b <= a for a, b in pairwise(bounds)):
                raise ValueError(f"steps must be strictly ascending by min_value, got {bounds}")
        return self


class Kpi(_Model):
    metric: Metric
    score: ScoreCurve
    min_responses: int = Field(default=1, ge=1)
    when_missing: WhenMissing = WhenMissing.NEUTRAL


class Segment(_Model):
    weights: dict[str, Number]
    targets: dict[
        str,
        Annotated[Decimal, Field(gt=0), _places(MAX_CONFIG_PLACES), BeforeValidator(_to_decimal)],
    ] = Field(default_factory=dict)


class Tier(_Model):
    name: str = Field(min_length=1)
    min_score: Number
    rate: Number = Decimal(0)
    fixed: Money = Decimal(0)
    perks: list[str] = Field(default_factory=list)
    requires: dict[str, Number] = Field(default_factory=dict)


class Cap(_Model):
    amount: Money | None = None
    pct_of_base: Number | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Cap:
        if self.amount is None and self.pct_of_base is None:
            raise ValueError("set amount, pct_of_base or both")
        return self


class Milestone(_Model):
    """A loyalty bonus for every `quarters`-th consecutive quarter at `tier` or above (11.7)."""

    tier: str = Field(min_length=1)
    quarters: int = Field(ge=1)
    bonus: Money = Field(ge=0)


class Payout(_Model):
    base: str = "revenue"
    individual_share: Share = Decimal(1)
    team_share: Share = Decimal(0)
    cap: Cap | None = None
    budget: Money | None = None
    holdback_pct: Share = Decimal(0)
    holdback_release_after: int = Field(default=1, ge=1)
    clawback_within_days: int | None = Field(default=None, ge=0)
    min_payout: Money = Decimal(0)
    loyalty: list[Milestone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> Payout:
        total = self.individual_share + self.team_share
        if total != 1:
            raise ValueError(
                f"individual_share + team_share must be 1, got {self.individual_share} + "
                f"{self.team_share} = {total}"
            )
        return self


class DuplicateRule(_Model):
    action: Action = Action.EXCLUDE


class RegistrationRule(_Model):
    required: bool = True
    action: Action = Action.EXCLUDE


class SpikeRule(_Model):
    last_days: int = Field(ge=1)
    max_share: Share
    action: Action = Action.FLAG


class ReversalRule(_Model):
    within_days: int = Field(ge=0)
    action: Action = Action.EXCLUDE


class Integrity(_Model):
    duplicate_deals: DuplicateRule | None = None
    registration: RegistrationRule | None = None
    quarter_end_spike: SpikeRule | None = None
    reversal: ReversalRule | None = None


class Ledger(_Model):
    """Where closed periods are kept (RULES.md 11); relative to the config file."""

    path: Path


class Debtor(_Model):
    """The account the payouts are paid from (PAYMENTS.md), checked when the config loads so
    `validate` catches a typo before the quarter is closed. An IBAN is never quoted whole."""

    name: str = Field(min_length=1, max_length=140)
    iban: str = Field(min_length=1)
    bic: str | None = None

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        from incentcalc.accounts import iban_problem, masked

        problem = iban_problem(value)
        if problem is not None:
            raise ValueError(f"the IBAN ending {masked(value)} {problem}")
        return value

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str | None) -> str | None:
        from incentcalc.accounts import bic_problem

        problem = None if value is None else bic_problem(value)
        if problem is not None:
            raise ValueError(f"the BIC {problem}")
        return value


class Payments(_Model):
    """`incentcalc payments` (PAYMENTS.md): who pays, when, with which remittance text."""

    debtor: Debtor
    execution_date_after_days: int = Field(default=5, ge=0, le=365)
    reference: str = Field(
        default="Partner incentive {period} {partner_id}", min_length=1, max_length=140
    )

    @field_validator("reference")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            value.format(period="", partner_id="", partner_name="", vendor_id="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"may use only {{period}}, {{partner_id}}, {{partner_name}} and {{vendor_id}} "
                f"({exc})"
            ) from None
        return value


class Site(_Model):
    """The partner portal (SITE.md): peer benchmarks only over segments of at least
    `min_peer_group` in-scope partners, so no single peer's numbers can be worked out."""

    min_peer_group: int = Field(default=5, ge=2)


class ProgramConfig(_Model):
    """A whole incentive program. Cross-field rules live in `_consistent`."""

    program: ProgramInfo
    sources: Sources
    kpis: dict[str, Kpi] = Field(min_length=1)
    segments: dict[str, Segment] = Field(min_length=1)
    tiers: list[Tier] = Field(min_length=1)
    payout: Payout = Payout()
    tier_grace_quarters: int = Field(default=0, ge=0)
    ledger: Ledger | None = None
    integrity: Integrity = Integrity()
    payments: Payments | None = None
    site: Site = Site()

    @model_validator(mode="after")
    def _consistent(self) -> ProgramConfig:
        problems = [
            *self._segment_problems(),
            *self._tier_problems(),
            *self._payout_problems(),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unknown_kpi(self, where: str, name: str) -> str | None:
        if name in self.kpis:
            return None
        return f"{where}: {name!r} is not a KPI of `kpis` (known: {', '.join(self.kpis)})"

    def _segment_problems(self) -> list[str]:
        problems: list[str] = []
        for seg_name, segment in self.segments.items():
            for kpi in [*segment.weights, *segment.targets]:
                problem = self._unknown_kpi(f"segments.{seg_name}", kpi)
                if problem:
                    problems.append(problem)
            total = sum(segment.weights.values(), Decimal(0))
            if total != 1:
                problems.append(
                    f"segments.{seg_name}.weights must sum to 1, got {total} "
                    f"({dict((k, str(v)) for k, v in segment.weights.items())})"
                )
            if any(weight < 0 for weight in segment.weights.values()):
                problems.append(f"segments.{seg_name}.weights must not be negative")
        return problems

    def _tier_problems(self) -> list[str]:
        problems: list[str] = []
        first = self.tiers[0]
        if first.min_score != 0 or first.requires:
            problems.append(
                f"tiers[{first.name}] (the first tier) must have min_score 0 and no `requires` "
                f"gates, got min_score {first.min_score}"
            )
        scores = [tier.min_score for tier in self.tiers]
        if any(b <= a for a, b in pairwise(scores)):
            problems.append(f"tiers must be in strictly ascending min_score, got {scores}")
        names = [tier.name for tier in self.tiers]
        if len(set(names)) != len(names):
            problems.append(f"tier names must be unique, got {names}")
        for tier in self.tiers:
            for kpi in tier.requires:
                problem = self._unknown_kpi(f"tiers[{tier.name}].requires", kpi)
                if problem:
                    problems.append(problem)
        return problems

    def _payout_problems(self) -> list[str]:
        base = self.payout.base
        if base not in self.kpis:
            return [f"payout.base: {base!r} is not a KPI of `kpis`"]
        if self.kpis[base].metric not in MONEY_METRICS:
            return [
                f"payout.base: KPI {base!r} has metric {self.kpis[base].metric}; it must be "
                "revenue or expansion_revenue"
            ]
        tier_names = {tier.name for tier in self.tiers}
        return [
            f"payout.loyalty[{i}].tier: {m.tier!r} is not a tier of `tiers` "
            f"(known: {', '.join(t.name for t in self.tiers)})"
            for i, m in enumerate(self.payout.loyalty)
            if m.tier not in tier_names
        ]

    def kpi_target_names(self) -> list[str]:
        """KPIs scored by attainment, which need a target per partner."""
        return [n for n, k in self.kpis.items() if k.score.attainment is not None]


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader whose floats are exact Decimals (data only: no tags that run code)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def read_config_text(path: Path) -> str:
    """The config file's text, or a ConfigError naming the path."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"The config file is missing: {path} does not exist. Pass the program YAML with "
            "--config PATH (default configs/program.yaml, relative to the current folder)."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read config {path}: {exc}. Save it as UTF-8 text.") from None


def parse_config(text: str, origin: Path) -> ProgramConfig:
    """Parse YAML text into a ProgramConfig; source paths resolve against `origin`'s folder."""
    try:
        raw = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config {origin} is not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML recurses once per nesting level
        raise ConfigError(
            f"Config {origin} nests lists or mappings too deeply to be a program config."
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Config {origin} must be a YAML mapping with a `program` section.")
    try:
        config = ProgramConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(origin, exc, raw)) from None
    return resolve_paths(config, origin.parent)


def resolve_paths(config: ProgramConfig, folder: Path) -> ProgramConfig:
    """Copy of `config` whose source paths are absolute, relative ones taken from `folder`."""
    resolved = {
        name.value: source.model_copy(
            update={"path": (folder / source.path).resolve()}
            if source.path is not None
            else {"uri": resolve_sqlite_uri(source.uri or "", folder)}
        )
        for name, source in config.sources.items()
        if source.from_ is None
    }
    ledger = config.ledger
    if ledger is not None:
        ledger = ledger.model_copy(update={"path": (folder / ledger.path).resolve()})
    return config.model_copy(
        update={"sources": config.sources.model_copy(update=resolved), "ledger": ledger}
    )


def resolve_sqlite_uri(uri: str, folder: Path) -> str:
    """``sqlite:///data/crm.db`` names a file relative to the config's folder (DATA.md):
    made absolute (``sqlite:////abs/data/crm.db``) so runs from any folder read the same
    file. Other URLs are returned unchanged."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/"):
        return uri
    return prefix + str((folder / uri.removeprefix(prefix)).resolve())


def load_config(path: Path) -> ProgramConfig:
    """Read and check a program config file."""
    return parse_config(read_config_text(path), path.resolve())


def key_path(loc: tuple[int | str, ...], raw: Any = None) -> str:
    """A pydantic error location as a config key path; a tier is named by its name when it
    has one: ("tiers", 2, "rate") -> "tiers[Gold].rate" (else "tiers[2].rate")."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if _is_list_of_maps(node, part) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{name if name else part}]"]
        else:
            parts.append(str(part))
        node = _child(node, part)
    return ".".join(parts)


def _is_list_of_maps(node: Any, index: int) -> bool:
    return isinstance(node, list) and 0 <= index < len(node) and isinstance(node[index], dict)


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def describe_validation_error(origin: Path, exc: ValidationError, raw: Any = None) -> str:
    """One readable line per problem: key path (tiers by name), offending value, what is
    allowed."""
    lines = [f"Config {origin} has {exc.error_count()} problem(s):"]
    for error in exc.errors():
        where = key_path(error["loc"], raw)
        value = error.get("input")
        message = re.sub(r"^Value error, ", "", error["msg"])
        hidden = isinstance(value, dict | list) or error["loc"][-1:] in (("uri",), ("iban",))
        shown = "" if hidden else f" (value: {value!r})"
        lines.append(f"  - {where or '(top level)'}: {message}{shown}")
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config format, for editors."""
    schema = ProgramConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "incentcalc program config"
    return schema
