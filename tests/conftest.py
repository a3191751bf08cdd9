"""Shared test setup: tests import `builders` from this folder; rich output is pinned."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("COLUMNS", "160")
os.environ.setdefault("NO_COLOR", "1")

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"
EXAMPLE = SPEC / "examples" / "basic"
