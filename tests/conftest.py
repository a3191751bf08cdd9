"""Shared test setup: tests import `builders` from this folder and `bench` from the repo;
rich output is pinned."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1]))  # `bench` helpers (synthetic results)
os.environ.setdefault("COLUMNS", "160")
os.environ.setdefault("NO_COLOR", "1")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = FIXTURES / "examples"
EXAMPLE = EXAMPLES / "basic"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A writable copy of the worked example; returns its folder."""
    folder = tmp_path / "basic"
    shutil.copytree(EXAMPLE, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder
