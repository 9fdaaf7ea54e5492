"""A fake Trello REST API (SOURCES.md §2.3): boards, lists, cards and the actions they leave behind.

Behaviour reproduced: `GET /boards/{id}/actions` answers newest first, filters by `filter` (types,
`type:field` or `all`), caps `limit` at 1000 (default 50), and reads `since`/`before` as an action
id or an ISO date (both exclusive); ids are ObjectIds, so they sort by time. Auth is the key and
token as query parameters or in `Authorization: OAuth oauth_consumer_key="...",
oauth_token="..."`; a wrong token gets Trello's plain-text 401 `invalid token`. Each mutation
helper records the action Trello would (same `data` shapes as the API).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.base import FakeAPI, Reply, Request

__all__ = ["FakeTrello", "iso"]

MAX_LIMIT = 1000
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
_OAUTH = re.compile(r'(oauth_consumer_key|oauth_token)="([^"]*)"')


def iso(moment: datetime) -> str:
    """Trello's timestamp format: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class _Hook:
    pattern: str
    nth: int
    fn: Callable[[], None]
    seen: int = 0


class FakeTrello(FakeAPI):
    """In-memory Trello boards behind a real local HTTP server."""

    def __init__(
        self, key: str = "0123456789abcdef0123456789abcdef", token: str = "ATTAfaketoken0123456789"
    ) -> None:
        super().__init__()
        self.key, self.token = key, token
        self.me = {
            "id": "5f1a00000000000000000001",
            "fullName": "Sam Rivera",
            "username": "samrivera",
        }
        self.members: dict[str, dict[str, Any]] = {self.me["fullName"]: self.me}
        self.boards: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        self.actions: list[dict[str, Any]] = []
        self.hooks: list[_Hook] = []
        self._counter = itertools.count(1)
        self.route("GET", r"/members/me", self._me)
        self.route("GET", r"/boards/(?P<board>[^/]+)", self._board)
        self.route("GET", r"/boards/(?P<board>[^/]+)/lists", self._lists)
        self.route("GET", r"/boards/(?P<board>[^/]+)/actions", self._actions)

    # -- building boards ---------------------------------------------------------------------

    def object_id(self, at: datetime) -> str:
        """An ObjectId-like id: 4 bytes of Unix seconds, then a counter (sorts by time)."""
        return f"{int(at.timestamp()):08x}{next(self._counter):016x}"

    def add_board(self, board_id: str, name: str, lists: Sequence[str]) -> None:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        self.boards[board_id] = {
            "id": board_id,
            "name": name,
            "shortLink": board_id[-8:],
            "lists": [
                {"id": self.object_id(at), "name": n, "closed": False, "pos": 16384 * (i + 1)}
                for i, n in enumerate(lists)
            ],
        }

    def list_id(self, board_id: str, name: str) -> str:
        return str(next(x["id"] for x in self.boards[board_id]["lists"] if x["name"] == name))

    def member(self, full_name: str) -> dict[str, Any]:
        if full_name not in self.members:
            number = len(self.members) + 1
            self.members[full_name] = {
                "id": f"5f1a{number:020x}",
                "fullName": full_name,
                "username": full_name.lower().replace(" ", ""),
            }
        return self.members[full_name]

    def create_card(
        self, board_id: str, list_name: str, name: str, at: datetime, by: str = "Sam Rivera"
    ) -> str:
        card_id = self.object_id(at)
        idlist = self.list_id(board_id, list_name)
        self.cards[card_id] = {
            "id": card_id, "name": name, "idBoard": board_id, "idList": idlist, "closed": False,
            "due": None, "dueComplete": False, "idMembers": [],
            "idShort": len(self.cards) + 1, "shortLink": card_id[-8:],
        }  # fmt: skip
        self.record("createCard", card_id, at, by, {"list": self._list_ref(idlist)})
        return card_id

    def move_card(self, card_id: str, list_name: str, at: datetime, by: str = "Sam Rivera") -> None:
        card = self.cards[card_id]
        before, after = card["idList"], self.list_id(card["idBoard"], list_name)
        card["idList"] = after
        self.record(
            "updateCard", card_id, at, by,
            {"old": {"idList": before}, "listBefore": self._list_ref(before),
             "listAfter": self._list_ref(after)},
            card_fields=("idList",),
        )  # fmt: skip

    def update_card(
        self, card_id: str, at: datetime, by: str = "Sam Rivera", **fields: Any
    ) -> None:
        """Change one card field (closed, dueComplete, due, name, desc...) as an updateCard."""
        ((field, value),) = fields.items()
        card = self.cards[card_id]
        old = card.get(field)
        card[field] = value
        data = {"old": {field: old}, "list": self._list_ref(card["idList"])}
        self.record("updateCard", card_id, at, by, data, card_fields=(field,))

    def comment(self, card_id: str, text: str, at: datetime, by: str = "Sam Rivera") -> None:
        list_ref = self._list_ref(self.cards[card_id]["idList"])
        self.record("commentCard", card_id, at, by, {"text": text, "list": list_ref})

    def add_member(self, card_id: str, who: str, at: datetime, by: str = "Sam Rivera") -> None:
        member = self.member(who)
        self.cards[card_id]["idMembers"].append(member["id"])
        data = {"idMember": member["id"], "member": {"id": member["id"], "name": who}}
        self.record("addMemberToCard", card_id, at, by, data)

    def remove_member(self, card_id: str, who: str, at: datetime, by: str = "Sam Rivera") -> None:
        member = self.member(who)
        self.cards[card_id]["idMembers"].remove(member["id"])
        data = {"idMember": member["id"], "member": {"id": member["id"], "name": who}}
        self.record("removeMemberFromCard", card_id, at, by, data)

    def delete_card(self, card_id: str, at: datetime, by: str = "Sam Rivera") -> None:
        list_ref = self._list_ref(self.cards[card_id]["idList"])
        self.record("deleteCard", card_id, at, by, {"list": list_ref}, card_fields=())
        self.cards[card_id]["deleted"] = True

    def record(
        self,
        kind: str,
        card_id: str,
        at: datetime,
        by: str,
        data: dict[str, Any],
        card_fields: Sequence[str] = ("name",),
    ) -> dict[str, Any]:
        """Append the action Trello leaves for a card change."""
        card = self.cards[card_id]
        board = self.boards[card["idBoard"]]
        creator = self.member(by)
        card_ref = {f: card[f] for f in card_fields} | {
            "id": card_id, "name": card["name"], "idShort": card["idShort"],
            "shortLink": card["shortLink"],
        }  # fmt: skip
        action = {
            "id": self.object_id(at), "idMemberCreator": creator["id"], "type": kind,
            "date": iso(at), "appCreator": None, "limits": {},
            "data": {"card": card_ref, "board": {"id": board["id"], "name": board["name"],
                     "shortLink": board["shortLink"]}, **data},
            "memberCreator": {**creator, "activityBlocked": False, "avatarHash": None,
                              "initials": "".join(p[0] for p in by.split()), "nonPublic": {}},
        }  # fmt: skip
        self.actions.append(action)
        return action

    def after(self, path_pattern: str, nth: int, fn: Callable[[], None]) -> None:
        """Run `fn` once the n-th request to a matching path has been answered (mid-pull edits)."""
        self.hooks.append(_Hook(path_pattern, nth, fn))

    def _list_ref(self, list_id: str) -> dict[str, str]:
        for board in self.boards.values():
            for item in board["lists"]:
                if item["id"] == list_id:
                    return {"id": list_id, "name": item["name"]}
        raise KeyError(list_id)

    # -- HTTP -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        reply = super().handle(request)
        for hook in self.hooks:
            if re.search(hook.pattern, request.path):
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.fn()
        return reply

    def _denied(self, request: Request) -> Reply | None:
        given = dict(_OAUTH.findall(request.headers.get("authorization", "")))
        key = request.param("key") or given.get("oauth_consumer_key")
        token = request.param("token") or given.get("oauth_token")
        text = {"Content-Type": "text/plain; charset=utf-8"}
        if key != self.key:
            return Reply(401, b"invalid key", text)
        if token != self.token:
            return Reply(401, b"invalid token", text)
        return None

    def _missing(self, board_id: str) -> Reply | None:
        if board_id not in self.boards:
            return Reply(404, b"The requested resource was not found.", {"Content-Type": "text/plain"})  # fmt: skip
        return None

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        return self._denied(request) or Reply(200, {**self.me, "initials": "SR"})

    def _board(self, request: Request, match: re.Match[str]) -> Reply:
        board_id = match["board"]
        if refused := self._denied(request) or self._missing(board_id):
            return refused
        board = self.boards[board_id]
        return Reply(200, {"id": board_id, "name": board["name"], "shortLink": board["shortLink"]})

    def _lists(self, request: Request, match: re.Match[str]) -> Reply:
        board_id = match["board"]
        if refused := self._denied(request) or self._missing(board_id):
            return refused
        lists = self.boards[board_id]["lists"]
        if (request.param("filter") or "open") == "open":
            lists = [x for x in lists if not x["closed"]]
        return Reply(200, [{**x, "idBoard": board_id} for x in lists])

    def _actions(self, request: Request, match: re.Match[str]) -> Reply:
        board_id = match["board"]
        if refused := self._denied(request) or self._missing(board_id):
            return refused
        limit = int(request.param("limit") or 50)
        if not 0 <= limit <= MAX_LIMIT:
            return Reply(400, b"invalid value for limit", {"Content-Type": "text/plain"})
        wanted = (request.param("filter") or "all").split(",")
        found = [
            a for a in self.actions
            if a["data"]["board"]["id"] == board_id and self._matches(a, wanted)
            and self._after(a, request.param("since")) and self._before(a, request.param("before"))
        ]  # fmt: skip
        found.sort(key=lambda a: a["id"], reverse=True)
        return Reply(200, found[:limit])

    @staticmethod
    def _matches(action: dict[str, Any], wanted: list[str]) -> bool:
        for item in wanted:
            kind, _, field = item.partition(":")
            changed = not field or field in action["data"].get("old", {})
            if kind == "all" or (kind == action["type"] and changed):
                return True
        return False

    @staticmethod
    def _after(action: dict[str, Any], since: str | None) -> bool:
        if not since:
            return True
        if _OBJECT_ID.match(since):
            return bool(action["id"] > since)
        return _parse_iso(action["date"]) > _parse_iso(since)

    @staticmethod
    def _before(action: dict[str, Any], before: str | None) -> bool:
        if not before:
            return True
        if _OBJECT_ID.match(before):
            return bool(action["id"] < before)
        return _parse_iso(action["date"]) < _parse_iso(before)
