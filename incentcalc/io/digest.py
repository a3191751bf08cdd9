"""sha256 of a file as the manifest records it (inputs, config, outputs, ledger entries)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (hashlib lets go of the GIL meanwhile)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
