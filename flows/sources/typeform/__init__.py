"""Typeform connector: completed form responses since a cursor, one `feedback` event each.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would
live outside our landing/commit rule.
"""

from __future__ import annotations

import sys

from flows.sources import register
from flows.sources.typeform.api import DEFAULT_BASE, make_client, policy
from flows.sources.typeform.fetch import check, fetch
from flows.sources.typeform.normalize import normalize

__all__ = ["DEFAULT_BASE", "check", "fetch", "make_client", "name", "normalize", "policy"]

name = "typeform"

register(sys.modules[__name__])
