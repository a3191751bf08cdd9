r"""File stems from partner ids that can never leave their folder or clash on any filesystem.

A partner id comes from a CRM export and can be anything: ``../../etc/passwd``, ``a/b``,
``CON`` (a device on Windows), 300 characters, or two ids that differ only in case (one file
on macOS and Windows). `safe_file_stems` turns every id into a stem that is

- a single, harmless path component: no ``/``, ``\``, ``:``, ``*``, ``?``, ``"``, ``<``,
  ``>``, ``|``, control or invisible format characters (each becomes ``_``), no ``..``, no
  leading or trailing dot or space, never empty, never a Windows device name;
- at most MAX_STEM_BYTES bytes of UTF-8 (long ids are cut and get a hash);
- Unicode NFC, with letters of any script kept as they are;
- unique ignoring case.

An id that is already safe keeps its exact name (``P-0042`` -> ``P-0042``). An id that had to
be changed, or that clashes with another, gets ``-`` and an 8-character hash of the original
id appended, so ``a/b`` -> ``a_b-<hash>`` never takes the name of a real ``a_b``. The hash is
computed here in Polars (a polynomial hash of the UTF-8 bytes), not with `Expr.hash`, whose
values may change between Polars versions: file names must not change on an upgrade.
"""

from __future__ import annotations

import polars as pl

MAX_STEM_BYTES = 100
"""Far below every filesystem's 255-byte limit, leaving room for `.xlsx` and a prefix."""

HASH_LENGTH = 8
HASH_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
"""Crockford's base32 in lower case: 8 characters carry 40 bits, no i/l/o/u to misread."""

SUFFIX_RESERVE = 1 + HASH_LENGTH + 6
"""Bytes kept free for `-<hash>` and, in the rare last resort, a `-<n>` counter."""

EMPTY_STEM = "_"

UNSAFE_CHARACTERS = r'[\p{Cc}\p{Cf}\p{Zl}\p{Zp}/\\:*?"<>|]'
"""Path separators, Windows' forbidden characters, control and invisible format characters
(e.g. U+202E, which displays `exe.txt` as `txt.exe`)."""

WINDOWS_RESERVED = r"(?i)^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9¹²³])\s*(\..*)?$"
"""Device names Windows opens instead of a file, in any case, with or without extension."""

_HASH_MODULI = (2_147_483_647, 2_147_483_629)
_HASH_BASES = (1_000_003, 998_244_353)

_ID = "__id"
_ROW = "__row"


def safe_file_stems(ids: pl.Series) -> pl.Series:
    """One safe, distinct file stem per id (same order and length; nulls count as "").

    >>> safe_file_stems(pl.Series(["P1", "a/b", "CON"])).to_list()
    ['P1', 'a_b-f6f2bc3t', '_CON-2aybdnxf']

    Equal ids get equal stems; different ids get stems that differ ignoring case.
    Deterministic: the result depends only on the ids, not on the Polars version.
    """
    frame = pl.DataFrame({_ID: ids.cast(pl.String).fill_null("")}).with_row_index(_ROW)
    frame = frame.with_columns(_clean(pl.col(_ID)).alias("clean"))
    frame = frame.with_columns(_id_hash(frame[_ID]).alias("hash"))
    clash = pl.col(_ID).n_unique().over(pl.col("clean").str.to_lowercase()) > 1
    needs_hash = (pl.col("clean") != pl.col(_ID)) | clash
    frame = frame.with_columns(
        pl.when(needs_hash)
        .then(pl.concat_str(_truncate_bytes(pl.col("clean")), pl.lit("-"), pl.col("hash")))
        .otherwise(pl.col("clean"))
        .alias("stem")
    )
    return _make_unique(frame).sort(_ROW)["stem"].alias(ids.name)


def _clean(raw: pl.Expr) -> pl.Expr:
    """The id as a harmless stem, before hashing; equal to the id when it was already safe."""
    text = raw.str.normalize("NFC").str.replace_all(UNSAFE_CHARACTERS, "_")
    text = text.str.replace_all(r"\.{2,}", ".").str.strip_chars(" .")
    text = (
        pl.when(text.str.len_bytes() > MAX_STEM_BYTES).then(_truncate_bytes(text)).otherwise(text)
    )
    text = pl.when(text == "").then(pl.lit(EMPTY_STEM)).otherwise(text)
    return pl.when(text.str.contains(WINDOWS_RESERVED)).then("_" + text).otherwise(text)


def _truncate_bytes(text: pl.Expr) -> pl.Expr:
    """The longest prefix of whole characters within the byte budget left for suffixes.

    Cut by characters, counting each one's UTF-8 bytes, so no character is split.
    """
    budget = MAX_STEM_BYTES - SUFFIX_RESERVE
    sizes = text.str.split("").list.eval(pl.element().str.len_bytes().cum_sum())
    keep = sizes.list.eval((pl.element() <= budget).sum()).list.first()
    cut = text.str.slice(0, keep).str.strip_chars_end(" .")
    return pl.when(cut == "").then(pl.lit(EMPTY_STEM)).otherwise(cut)


def _id_hash(ids: pl.Series) -> pl.Series:
    """A stable 8-character base32 hash of each id's UTF-8 bytes, computed in Polars.

    Two polynomial hashes modulo 31-bit primes, sum((byte_i + 1) * base^i) mod m, combined
    into 40 bits. Not cryptographic: uniqueness is still enforced afterwards.
    """
    raw = ids.cast(pl.Binary)
    longest = int(raw.bin.size().max() or 0)  # type: ignore[arg-type]
    powers = pl.DataFrame(
        {
            "position": pl.Series(range(longest), dtype=pl.Int64),
            **{
                f"p{index}": pl.Series([pow(base, i, modulus) for i in range(longest)])
                for index, (modulus, base) in enumerate(zip(_HASH_MODULI, _HASH_BASES, strict=True))
            },
        },
        schema_overrides={"p0": pl.UInt64, "p1": pl.UInt64},
    )
    bytes_ = (
        pl.DataFrame({_ROW: pl.int_range(len(ids), eager=True), "raw": raw})
        .with_columns(position=pl.int_ranges(0, pl.col("raw").bin.size(), dtype=pl.Int64))
        .explode("position")
        .filter(pl.col("position").is_not_null())
        .with_columns(byte=pl.col("raw").bin.get(pl.col("position")).cast(pl.UInt64) + 1)
        .join(powers, on="position", how="left")
    )
    sums = bytes_.group_by(_ROW).agg(
        ((pl.col("byte") * pl.col(f"p{index}")) % modulus).sum().mod(modulus).alias(f"h{index}")
        for index, modulus in enumerate(_HASH_MODULI)
    )
    combined = (
        pl.DataFrame({_ROW: pl.int_range(len(ids), eager=True)})
        .join(sums, on=_ROW, how="left")
        .select(
            (pl.col("h0").fill_null(0) * _HASH_MODULI[1] + pl.col("h1").fill_null(0))
            % (len(HASH_ALPHABET) ** HASH_LENGTH)
        )
        .to_series()
    )
    return _base32(combined)


def _base32(values: pl.Series) -> pl.Series:
    """Fixed-width base32 digits of non-negative integers, most significant first."""
    radix = len(HASH_ALPHABET)
    alphabet = dict(enumerate(HASH_ALPHABET))
    digits = [
        ((pl.col("v") // radix**place) % radix).replace_strict(alphabet, return_dtype=pl.String)
        for place in reversed(range(HASH_LENGTH))
    ]
    return pl.DataFrame({"v": values}).select(pl.concat_str(digits)).to_series()


def _make_unique(frame: pl.DataFrame) -> pl.DataFrame:
    """Last resort against hash collisions or a real id that equals another's `x-<hash>`:
    the second and later stems of a case-insensitive clash get `-2`, `-3`, ... in id order.

    Repeated until no clash is left; each round strictly lengthens the clashing stems, so this
    ends (in practice after zero rounds).
    """
    for _ in range(10):
        key = pl.col("stem").str.to_lowercase()
        rank = pl.col(_ID).rank("dense").over(key)
        clashing = rank > 1
        if not frame.select(clashing.any()).item():
            return frame
        frame = frame.with_columns(
            pl.when(clashing)
            .then(pl.concat_str(pl.col("stem"), pl.lit("-"), rank.cast(pl.String)))
            .otherwise(pl.col("stem"))
            .alias("stem")
        )
    raise AssertionError("safe_file_stems: stems still clash after 10 rounds")  # pragma: no cover
