"""Trello board JSON export import: the connector's mapping, detection, bad actions, end to end."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.formats import FORMATS, Record, detect_format, read_records
from flows.sources import trello
from flows.sources.trello.actions import IGNORED_TYPES
from models.raw import RawRecord
from models.settings import SourceConfig
from tests.conftest import DATA

BOARD = DATA / "trello_board.json"


def _records(path: Path, process: str | None = None, limit: int = 1 << 20) -> list[Record]:
    return list(read_records(path, "trello", process, limit))


def _docs(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(r.doc) for r in records if r.doc is not None]


def _export() -> dict[str, Any]:
    return json.loads(BOARD.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: Any, name: str = "board.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_sample_export_gives_one_record_per_card_event() -> None:
    records = _records(BOARD)
    assert all(r.error is None for r in records)
    types = [a["type"] for a in _export()["actions"]]
    # Skipped: 5 createList + addMemberToBoard + addChecklistToCard + updateCheckItemStateOnCard
    # (IGNORED_TYPES) and one rename (an updateCard of the name).
    assert len(records) == len(types) - 9 == 16
    skipped = {n for n, a in enumerate(_export()["actions"], 1) if a["type"] in IGNORED_TYPES}
    assert len(skipped) == 8 and not skipped & {r.line for r in records}
    docs = _docs(records)
    assert {d["process"] for d in docs} == {"Client onboarding"}  # the board's name
    assert {d["source"] for d in docs} == {"trello"}
    assert {d["attributes"]["ingest_path"] for d in docs} == {"import"}
    names = {f"trello:card:{c['id']}": c["name"] for c in _export()["cards"]}
    by_card: dict[str, list[tuple[str, str | None]]] = {}
    for doc in sorted(docs, key=lambda d: d["occurred_at"]):
        by_card.setdefault(names[doc["case_id"]], []).append((doc["kind"], doc["stage"]))
    assert by_card == {
        "Onboard Acme Bakery (2 sites)": [
            ("created", "backlog"), ("assigned", None), ("stage_changed", "active"),
            ("commented", None), ("due_changed", None), ("stage_changed", "waiting_on_client"),
            ("stage_changed", "review"), ("completed", "done"), ("reopened", "active"),
            ("completed", "done"),
        ],
        "Onboard Birch Dental": [("created", "backlog"), ("stage_changed", "active"), ("completed", "done")],
        "Onboard Cobalt Gym": [("created", "backlog"), ("cancelled", "cancelled")],
        "Onboard Dune Studio": [("created", "backlog")],
    }  # fmt: skip


def test_lines_are_action_indexes_and_process_can_be_overridden() -> None:
    actions = _export()["actions"]
    records = _records(BOARD, process="Onboarding (agency)")
    for record in records:
        doc = json.loads(record.doc or "{}")
        assert doc["attributes"]["source_event_id"] == actions[record.line - 1]["id"]
    assert {d["process"] for d in _docs(records)} == {"Onboarding (agency)"}


def test_import_and_pull_share_event_ids_and_mapping() -> None:
    """The same action imported from an export or pulled by the connector is the same event."""
    config = SourceConfig(scopes={"b": "Client onboarding"}, options={"key": "k"})
    actions = _export()["actions"]
    for record in _records(BOARD):
        imported = json.loads(record.doc or "{}")
        action = actions[record.line - 1]
        raw = RawRecord.of(
            "trello", "/boards/b/actions", f"trello:action:{action['id']}", action,
            fetched_at=datetime.now(UTC), scope="b",
        )  # fmt: skip
        (pulled,) = trello.normalize(raw, config)
        imported["attributes"]["ingest_path"] = "pull"
        assert imported == pulled


def test_lists_named_only_by_id_are_named_from_the_export(tmp_path) -> None:
    doc = _export()
    move = next(a for a in doc["actions"] if a["data"].get("listAfter"))
    move["data"]["listAfter"] = {"id": move["data"]["listAfter"]["id"]}  # no name in the action
    path = _write(tmp_path, {**doc, "actions": [move]})
    (record,) = _records(path)
    assert json.loads(record.doc or "{}")["original_status"] == "Done"


def test_unreadable_or_unknown_actions_become_error_records_and_the_rest_is_read(tmp_path) -> None:
    doc = _export()
    good = doc["actions"][1]  # the last move to Done
    naive = {**good, "id": "a-naive", "date": "2025-09-12T15:10:00"}
    unknown = {**good, "id": "a-unknown", "type": "convertToCardFromEmailThread"}
    doc["actions"] = [good, "not an action", naive, unknown, {**good, "id": "x" * 5000}]
    records = _records(_write(tmp_path, doc), limit=4000)
    assert [(r.line, r.doc is not None) for r in records] == [
        (1, True), (2, False), (3, False), (4, False), (5, False)
    ]  # fmt: skip
    reasons = [r.error or "" for r in records[1:]]
    assert "must be a JSON object" in reasons[0]
    assert "date" in reasons[1]
    assert "convertToCardFromEmailThread" in reasons[2] and "not mapped" in reasons[2]
    assert "longer than 4000 bytes" in reasons[3]
    assert all(r.raw for r in records[1:])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"actions": [', "not valid JSON"),
        (b'{"actions": [], "cards": []}', "needs top-level 'actions', 'lists' and 'cards'"),
        (b"[1, 2, 3]", "not a Trello board export"),
    ],
)
def test_a_file_that_is_not_an_export_is_one_error_record(tmp_path, content, reason) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    (record,) = _records(path)
    assert record.line == 1 and record.doc is None and reason in (record.error or "")


def test_detection_by_content_pretty_minified_and_gzipped(tmp_path) -> None:
    assert detect_format(BOARD) == "trello"  # pretty-printed: the first line alone is "{"
    minified = _write(tmp_path, _export(), "export.json")
    assert detect_format(minified) == "trello"
    packed = tmp_path / "export.json.gz"
    packed.write_bytes(gzip.compress(minified.read_bytes()))
    assert detect_format(packed) == "trello"
    assert "trello" in FORMATS
    # Lookalikes keep their formats: a JSONL event, OCEL with an `actions` key, half an export.
    event = _write(tmp_path, {"kind": "created", "actions": []}, "events.txt")
    assert detect_format(event) == "jsonl"
    ocel = _write(tmp_path, {"objectTypes": [], "events": [], "actions": []}, "log.json")
    assert detect_format(ocel) == "ocel"
    half = _write(tmp_path, {"actions": [], "lists": [], "cards": {}}, "half.txt")
    assert detect_format(half) == "jsonl"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.binary(max_size=2000))
def test_the_reader_never_raises_on_random_bytes(tmp_path, data) -> None:
    path = tmp_path / "random.json"
    path.write_bytes(data)
    for record in read_records(path, "trello", "P", 1000):
        assert (record.doc is None) != (record.error is None)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip


_TYPES = ["createCard", "updateCard", "commentCard", "deleteCard", "addMemberToCard", "x"]
_DATA_KEYS = ["card", "list", "listAfter", "old", "member", "text"]
_actions = st.fixed_dictionaries(
    {
        "id": st.text(max_size=6),
        "type": st.sampled_from(_TYPES),
        "date": st.sampled_from(["2025-09-01T10:00:00.000Z", "2025-09-01", "soon"]),
        "data": st.dictionaries(st.sampled_from(_DATA_KEYS), _values, max_size=4),
    }
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(_actions | _values, max_size=5))
def test_garbled_actions_never_crash_the_reader(tmp_path, actions) -> None:
    path = _write(tmp_path, {"name": "B", "actions": actions, "lists": [], "cards": []})
    records = _records(path)
    assert all((r.doc is None) != (r.error is None) for r in records)
    for record in records:
        if record.doc is not None:
            assert json.loads(record.doc)["case_id"].startswith("trello:card:")


def test_opspulse_import_loads_the_export_and_shows_its_cases(cli, tmp_path) -> None:
    result = cli("import", str(BOARD))
    assert result.code == 0, result.err
    assert "quarantined" not in result.err
    cases = {c["case_id"]: c for c in cli("cases", "--format", "json").json()}
    cards = {c["name"]: c["id"] for c in _export()["cards"]}
    acme = cases[f"trello:card:{cards['Onboard Acme Bakery (2 sites)']}"]
    assert acme["process"] == "Client onboarding" and acme["state"] == "completed"
    assert acme["reopen_count"] == 1 and acme["rework"]
    assert acme["assignee"] == "Noor Haddad" and acme["due_at"].startswith("2025-09-12T16:00:00")
    assert cases[f"trello:card:{cards['Onboard Birch Dental']}"]["state"] == "completed"
    assert cases[f"trello:card:{cards['Onboard Cobalt Gym']}"]["state"] == "cancelled"
    assert cases[f"trello:card:{cards['Onboard Dune Studio']}"]["state"] == "open"
    again = cli("import", "--format", "trello", "--process", "Onboarding", str(BOARD))
    assert again.code == 0, again.err
    # Same action ids, same event ids: the events are stored once, now under the new process.
    after = cli("cases", "--format", "json").json()
    assert len(after) == len(cases) == 4 and {c["process"] for c in after} == {"Onboarding"}
