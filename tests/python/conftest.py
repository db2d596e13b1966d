"""Shared fixtures for the Python package's tests: the shared test assets (``UPFRAME_ASSETS``,
default ``../shared`` next to the repository). A missing asset fails the test when ``CI`` is
set and skips it with the reason otherwise, as the Rust tests do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def assets_root() -> Path:
    env = os.environ.get("UPFRAME_ASSETS")
    return Path(env) if env else REPO.parent / "shared"


def asset(relative: str) -> Path:
    path = assets_root() / relative
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"asset {path} is missing (CI is set)")
    pytest.skip(f"asset {path} is missing")


@pytest.fixture(scope="session")
def animevideov3() -> Path:
    """The official realesr-animevideov3.pth."""
    return asset("models/realesr-animevideov3.pth")


@pytest.fixture(scope="session")
def rife_dir() -> Path:
    """The folder holding the RIFE v4.25/v4.26 flownet.pkl."""
    path = asset("models/rife-v4.25-or-v4.26")
    asset("models/rife-v4.25-or-v4.26/flownet.pkl")
    return path
