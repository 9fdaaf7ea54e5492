"""The Source protocol every connector satisfies, and the SOURCES registry.

A source module (`flows/sources/<tool>.py`) keeps its payload models and constants at the top and
offers the same small surface:

- `fetch(client, config, since)` yields RawRecords of everything changed since `since` (the
  cursor: the start of the last successful pull minus `config.overlap_seconds`);
- `normalize(record, config)` yields canonical event dicts (DESIGN.md §3 field names);
- `make_client(config, token)` builds its httpx client (auth scheme, base URL);
- `policy(config)` returns its RetryPolicy (how its 429s say when to come back);
- `check(client, config)` makes one or two cheap requests and says what the token can see.
Sources never import each other; they register here by name, and `load_sources()` imports them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from flows.http import RetryPolicy
from models.errors import UsageError
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = [
    "KNOWN_SOURCES",
    "SOURCES",
    "Source",
    "connector",
    "load_sources",
    "register",
    "source_for",
]

# Connector modules under flows/sources, imported by load_sources() when they exist.
KNOWN_SOURCES = ("asana", "clickup", "trello", "typeform", "zendesk", "helpscout")


class Source(Protocol):
    """What every connector module provides."""

    name: str

    def make_client(self, config: SourceConfig, token: SecretStr) -> httpx.Client: ...

    def policy(self, config: SourceConfig) -> RetryPolicy: ...

    def fetch(
        self, client: httpx.Client, config: SourceConfig, since: datetime
    ) -> Iterator[RawRecord]: ...

    def normalize(self, record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]: ...

    def check(self, client: httpx.Client, config: SourceConfig) -> dict[str, str]: ...


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source module to the registry (called at the bottom of each module)."""
    SOURCES[source.name] = source
    return source


def connector(kind: str) -> Source | None:
    """The connector registered under a SOURCES key, importing its module on first use."""
    if kind not in SOURCES and kind in KNOWN_SOURCES:
        qualified = f"{__name__}.{kind}"
        if importlib.util.find_spec(qualified) is not None:
            importlib.import_module(qualified)
    return SOURCES.get(kind)


def load_sources() -> dict[str, Source]:
    """Import every known connector module that exists; return the registry."""
    for kind in KNOWN_SOURCES:
        connector(kind)
    return SOURCES


def source_for(name: str, config: SourceConfig) -> Source:
    """The connector of a configured source (`type`, else the table name), or a usage error."""
    kind = config.type or name
    found = connector(kind)
    if found is None:
        raise UsageError(
            f"source {name!r} has type {kind!r}, which no connector provides; "
            f"set [sources.{name}] type to one of: {', '.join(KNOWN_SOURCES)}"
        )
    return found
