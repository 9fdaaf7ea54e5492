"""Fixtures and helpers for tests that pull from fakes: running fakes, source config, secret search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.asana import FakeAsana
from tests.fakes.base import running

__all__ = ["ASANA_TOKEN", "asana_api", "files_containing", "source_toml", "write_config"]

ASANA_TOKEN = "asana-pat-1/1200:5ec12e7a9b0f4c2d"


@pytest.fixture
def asana_api() -> Iterator[FakeAsana]:
    """A running fake Asana with project 1200 ("Client onboarding") and the test token."""
    api = FakeAsana(ASANA_TOKEN)
    api.add_project("1200", "Client onboarding")
    with running(api):
        yield api


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers and booleans are spelled alike in TOML


def source_toml(name: str, prefix: str = "sources", **fields: Any) -> str:
    """A [<prefix>.<name>] table, e.g. source_toml("asana", base_url=..., scopes={...})."""
    lines = [f"[{prefix}.{json.dumps(name)}]"]
    lines += [f"{key} = {_value(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, *tables: str) -> Path:
    """Write opspulse.toml from TOML tables into a folder (the tests' working directory)."""
    path = folder / "opspulse.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def files_containing(root: Path, secret: str) -> list[Path]:
    """Every file under root whose bytes contain the secret (landing, warehouse, snapshot...)."""
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
