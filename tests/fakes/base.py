"""A real HTTP server on 127.0.0.1 with routes, a fault script and a request log.

Each vendor fake subclasses FakeAPI and registers handlers; tests script faults such as
"the 2nd request to /tasks answers 429 with Retry-After: 1" and assert on `requests`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeAPI",
    "FakeClock",
    "Fault",
    "Reply",
    "Request",
    "running",
]


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """What a handler or a fault answers."""

    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (timeouts)


@dataclass
class Fault:
    """Answer `reply` instead of the handler for the n-th matching request (1-based), `times` times."""

    path_pattern: str
    nth: int
    reply: Reply
    times: int = 1
    seen: int = 0


Handler = Callable[[Request, re.Match[str]], Reply]


class FakeAPI:
    """Route table + fault script + request log behind a ThreadingHTTPServer."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start the fake first"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fail(self, path_pattern: str, nth: int, reply: Reply, times: int = 1) -> None:
        self.faults.append(Fault(path_pattern, nth, reply, times))

    def _fault_for(self, request: Request) -> Reply | None:
        for fault in self.faults:
            if re.search(fault.path_pattern, request.path):
                fault.seen += 1
                if fault.nth <= fault.seen < fault.nth + fault.times:
                    return fault.reply
        return None

    def handle(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            fault = self._fault_for(request)
        if fault is not None:
            return fault
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                return handler(request, match)
        return Reply(404, {"error": f"no route for {request.method} {request.path}"})

    def start(self) -> None:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length) if length else b"",
                )  # fmt: skip
                reply = api.handle(request)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                body = (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def running(api: FakeAPI) -> Iterator[FakeAPI]:
    """Start a fake for the duration of a with-block."""
    api.start()
    try:
        yield api
    finally:
        api.stop()


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
