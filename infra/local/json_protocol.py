"""The HTTP front door of the local stack's AWS stand-ins (infra/local/sqs.py, kms.py).

AWS's JSON protocol: each POST names its action in `X-Amz-Target` (`<Service>.<Action>`) and
carries its arguments as a JSON object; the answer is a JSON object, or an error whose
`__type` the SDKs turn into the service's exception.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

log = logging.getLogger("waymark.local")


class ServiceError(Exception):
    """An error the service itself answers (the SDK raises it as the code's exception)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Protocol:
    """How one service speaks it: its content type, and how its errors are rendered."""

    name: str
    content_type: str
    internal_error: str
    unknown_action: str
    error_type: Callable[[str], str] = lambda code: code
    error_headers: Callable[[str], dict[str, str]] = field(default=lambda code: {})


def serve(
    host: str,
    port: int,
    protocol: Protocol,
    call: Callable[[str, dict[str, Any]], dict[str, Any]],
) -> ThreadingHTTPServer:
    """Answers `call(action, arguments)` on host:port (0: a free port) from a thread."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, each answer waits for the
        # client's delayed ACK (40 ms).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            headers: dict[str, str] = {}
            try:
                arguments = json.loads(self.rfile.read(length) or b"{}")
                status, answer = 200, call(action, arguments)
            except ServiceError as error:
                status = error.status
                answer = {"__type": protocol.error_type(error.code), "message": error.message}
                headers = protocol.error_headers(error.code)
            except Exception as error:  # a bug here must not look like the service answering
                log.exception("local %s failed on %s", protocol.name, action)
                status = 500
                answer = {"__type": protocol.internal_error, "message": str(error)}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", protocol.content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    name = f"local-{protocol.name.lower()}"
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


class LocalService:
    """A stand-in on a loopback port: `call` dispatches each action to its `_<Action>` method."""

    protocol: Protocol

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._server = serve(self.host, self.port, self.protocol, self.call)
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def call(self, action: str, arguments: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            raise ServiceError(
                self.protocol.unknown_action,
                f"The local {self.protocol.name} does not do {action}.",
            )
        result: dict[str, Any] = handler(arguments)
        return result
