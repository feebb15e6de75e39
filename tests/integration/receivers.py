"""Real webhook receivers on loopback, and a signature check written from the reference.

The check does not use Waymark's signing code: it follows the reference's "Verifying
signatures" steps, so a mistake in the signer cannot hide in the verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    """A sender that gave up on a hanging receiver closed the connection: not worth a trace."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


# A behaviour decides the answer to the n-th request (0-based): a status, or a callable that
# blocks (a receiver that hangs) and then returns a status.
Behaviour = Callable[[int], int]


@dataclass
class Receiver:
    behaviour: Behaviour = lambda n: 200
    received: list[Received] = field(default_factory=list)
    redirect_to: str | None = None
    # Requests being answered right now, and when each began and ended (monotonic seconds).
    in_flight: int = 0
    spans: list[tuple[float, float]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body are two writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                began = time.monotonic()
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.in_flight += 1
                try:
                    status = receiver.behaviour(number)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1
                        receiver.spans.append((began, time.monotonic()))
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.received)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.received)} requests, not what was awaited")

    def ids(self) -> set[str]:
        """The distinct notification ids received (a retry repeats an id)."""
        with self._lock:
            return {r.json()["id"] for r in self.received}

    def most_at_once(self, since: float) -> int:
        """The most requests answered at the same time among those begun after `since`."""
        with self._lock:
            spans = [span for span in self.spans if span[0] >= since]
        edges = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
        most = current = 0
        for _, step in edges:
            current += step
            most = max(most, current)
        return most

    def topics(self) -> list[str]:
        with self._lock:
            return [r.json()["topic"] for r in self.received]


def verify_userflow_signature(body: bytes, header: str, secret: str, tolerance: int = 300) -> None:
    """The reference's steps: split the header, check the age, HMAC "<t>.<body>", compare.
    During a secret rotation the header carries one `v1` per secret; any may match."""
    pairs = [part.split("=", 1) for part in header.split(",")]
    timestamps = [value for key, value in pairs if key == "t"]
    signatures = [value for key, value in pairs if key == "v1"]
    assert timestamps, "missing t"
    assert signatures, "missing v1"
    assert int(time.time()) - int(timestamps[0]) <= tolerance, "timestamp too old"
    signed_payload = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed_payload, hashlib.sha256).hexdigest()
    assert expected in signatures, "incorrect signature"
