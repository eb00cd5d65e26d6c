"""Shared fixtures: every test runs with its own SUMMARISE_HOME and no OPENAI_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "summarise-home"
    monkeypatch.setenv("SUMMARISE_HOME", str(home))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_ORGANIZATION",
        "OPENAI_PROJECT_ID",
        "OPENAI_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def seeds_dir() -> Path:
    return REPO / "seeds"
