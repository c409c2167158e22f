"""A small threaded HTTP server that answers from a script, for the HTTP client's fault cases.

Each path has a queue of planned answers (status, headers, body, delay); when the queue is empty
the path's default answer is used. Every request is recorded (method, path, headers, body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class FakeServer:
    def __init__(self) -> None:
        self.plans: dict[str, deque[Answer]] = defaultdict(deque)
        self.defaults: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._token_n = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with server._lock:
                    server.seen.append(Seen(self.command, parts.path, parts.query, dict(self.headers), body))
                    plan = server.plans[parts.path]
                    fallback = server.defaults.get(parts.path, Answer(404, {"message": "no route"}))
                    answer = plan.popleft() if plan else fallback
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body(server) if callable(answer.body) else answer.body
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def plan(self, path: str, *answers: Answer) -> None:
        self.plans[path].extend(answers)

    def new_token(self, _server: FakeServer | None = None) -> dict[str, Any]:
        """A token endpoint body: a fresh token each call."""
        with self._lock:
            self._token_n += 1
            n = self._token_n
        return {"access_token": f"tok-{n}-0123456789abcdef", "token_type": "Bearer", "expires_in": 3600}

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]
