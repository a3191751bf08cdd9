"""Partner ids become file stems that stay in their folder and never clash."""

from __future__ import annotations

import re
import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.io.names import MAX_STEM_BYTES, safe_file_stems

RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])\s*(\..*)?$")
HASHED = re.compile(r"-[0-9a-z]{8}$")


def stems(*ids: str | None) -> list[str]:
    return safe_file_stems(pl.Series("partner_id", list(ids), dtype=pl.String)).to_list()


def assert_safe(stem: str) -> None:
    assert stem and stem not in {".", ".."}
    assert ".." not in stem
    assert not re.search(r'[/\\:*?"<>|\x00-\x1f\x7f]', stem)
    assert stem == stem.strip(" .")
    assert not RESERVED.match(stem)
    assert len(stem.encode()) <= MAX_STEM_BYTES
    assert unicodedata.normalize("NFC", stem) == stem


def test_safe_ids_keep_their_exact_name() -> None:
    assert stems("P-0042", "ACME_GmbH", "héllo wörld", "東京-1", "a.b") == [
        "P-0042",
        "ACME_GmbH",
        "héllo wörld",
        "東京-1",
        "a.b",
    ]


def test_traversal_and_separators_cannot_leave_the_folder() -> None:
    result = stems("../../x", "a/b", "a\\b", "/etc/passwd", "a\x00b", ".", "..", "", None)
    for stem in result:
        assert_safe(stem)
        assert HASHED.search(stem)
    assert result[0].startswith("_._x-")
    assert result[1].startswith("a_b-")
    assert result[4].startswith("a_b-")
    assert len(set(result)) == len(result) - 1  # "" and null are the same id


def test_windows_device_names_are_prefixed_in_any_case_and_with_extension() -> None:
    result = stems("CON", "con.txt", "Aux", "nul.tar.gz", "COM1", "lpt9.xlsx", "CON .txt")
    assert [stem.split("-")[0] for stem in result] == [
        "_CON",
        "_con.txt",
        "_Aux",
        "_nul.tar.gz",
        "_COM1",
        "_lpt9.xlsx",
        "_CON .txt",
    ]
    assert stems("CONSOLE", "COM10") == ["CONSOLE", "COM10"]  # not devices


def test_long_ids_are_truncated_with_a_hash_within_the_byte_limit() -> None:
    long_ascii, long_unicode = "x" * 300, "é" * 300
    result = stems(long_ascii, long_ascii[:-1] + "y", long_unicode)
    for stem in result:
        assert_safe(stem)
        assert HASHED.search(stem)
    assert result[0] != result[1]  # same prefix, different ids
    assert result[2].startswith("é" * 40)  # whole characters kept, none split


def test_ids_that_clean_to_the_same_stem_get_distinct_stable_stems() -> None:
    first = stems("a/b", "a_b", "a:b")
    assert len(set(first)) == 3
    assert all(stem.startswith("a_b-") for stem in first)
    assert stems("a:b", "a/b", "a_b") == [first[2], first[0], first[1]]  # order-independent
    assert stems("a/b") == [first[0]]  # stable whatever else is in the batch


def test_ids_differing_only_in_case_do_not_share_a_file() -> None:
    upper, lower = stems("ABC", "abc")
    assert upper.lower() != lower.lower()
    assert upper.startswith("ABC-") and lower.startswith("abc-")


def test_invisible_and_control_characters_are_replaced() -> None:
    (stem,) = stems("\u202eexe.txt")
    assert stem.startswith("_exe.txt-")
    (tab,) = stems("a\tb\r\n")
    assert tab.startswith("a_b__-")


def test_equal_ids_get_equal_stems_and_order_is_kept() -> None:
    series = pl.Series("partner_id", ["b", "a/b", "b", "a/b"])
    result = safe_file_stems(series)
    assert result.name == "partner_id"
    assert result[0] == result[2] == "b"
    assert result[1] == result[3]


def test_known_hash_values_do_not_change_between_versions() -> None:
    """The hash is part of statement file names: changing it renames every such file."""
    assert stems("a/b", "") == ["a_b-f6f2bc3t", "_-00000000"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=12))
def test_any_ids_give_safe_stems_unique_ignoring_case(ids: list[str]) -> None:
    result = stems(*ids)
    assert len(result) == len(ids)
    for stem in result:
        assert_safe(stem)
    by_id = dict(zip(ids, result, strict=True))
    assert len({stem.lower() for stem in by_id.values()}) == len(by_id)
    assert stems(*ids) == result
