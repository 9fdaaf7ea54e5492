"""Zendesk Support connector: the incremental ticket-event export and CSAT ratings since a cursor.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would
live outside our landing/commit rule.
"""

from __future__ import annotations

import sys

from flows.sources import register
from flows.sources.zendesk.api import DEFAULT_BASE, make_client, policy
from flows.sources.zendesk.fetch import check, fetch
from flows.sources.zendesk.normalize import normalize

__all__ = ["DEFAULT_BASE", "check", "fetch", "make_client", "name", "normalize", "policy"]

name = "zendesk"

register(sys.modules[__name__])
