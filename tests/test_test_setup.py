"""The test run itself: make test's parallel run keeps each xdist group on one worker.

The scenario tests share one replay per scenario (tests/test_scenario_flags.py caches it in the
worker), and the real-log tests one import per log, only if every test of a group runs on the
same worker. pytest 9.2 with pytest-xdist 3.8 silently stopped grouping (xdist issue 1386): each
replay ran twice and make test took minutes longer, with every test still passing.
"""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("test-setup")
def test_an_xdist_group_is_scheduled_as_one_unit(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("runs under make test's --dist loadgroup")
    # loadgroup schedules by the "@group" suffix of the node id: without it, round robin.
    assert request.node.nodeid.endswith("@test-setup"), request.node.nodeid
