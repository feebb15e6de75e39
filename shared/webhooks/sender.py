"""One POST to a receiver, as a hostile network would need it done.

The host is resolved here and every address checked (no private, loopback, link-local or
metadata targets); the connection then goes to the checked address, so a DNS answer cannot
change between the check and the connect. Redirects are not followed, the whole attempt is cut
at a deadline, and at most `READ_CAP` bytes of the response are read.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.webhooks.addresses import ForbiddenAddress, resolve_public

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
READ_CAP = 16 * 1024
EXCERPT_BYTES = 512  # of the response body, kept in the delivery log


@functools.cache
def _tls() -> ssl.SSLContext:
    """Built on first use: loading the CA bundle costs about 20 ms, and the dispatch function
    imports this module without ever posting."""
    return ssl.create_default_context()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after: str | None = None
    response_excerpt: str | None = None
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to a checked address while verifying the certificate for the host name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=_tls())
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = _tls().wrap_socket(sock, server_hostname=self._server_name)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_loopback: bool,
    timeout: float = TIMEOUT_SECONDS,
    slow_after: float | None = None,
    on_slow: Callable[[], None] | None = None,
) -> Outcome:
    """POSTs `body`; `on_slow` runs (on another thread) if no answer came within
    `slow_after` seconds, while the attempt goes on to its deadline."""
    started = time.monotonic()
    deadline = started + timeout

    def outcome(
        status: int | None,
        error: str | None,
        retry_after: str | None = None,
        excerpt: str | None = None,
        timed_out: bool = False,
    ) -> Outcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(status, elapsed, error, retry_after, excerpt, timed_out)

    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        address = resolve_public(host, port, allow_loopback=allow_loopback)[0]
    except ForbiddenAddress as refused:
        return outcome(None, f"refused: {refused}")
    except OSError as failure:
        return outcome(None, f"cannot resolve {host}: {failure}")

    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(address, port, host, timeout)
        if secure
        else http.client.HTTPConnection(address, port, timeout=timeout)
    )
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    # A receiver that trickles bytes never trips a per-read timeout: one watcher thread per
    # attempt cuts the socket at the deadline instead, whatever the connection is doing then
    # (and calls `on_slow` first when the answer is late).
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch,
        args=(done, connection, timeout, slow_after if on_slow is not None else None, on_slow),
        daemon=True,
    )
    watcher.start()
    try:
        connection.request(
            "POST", target, body=body, headers={**headers, "Host": parts.netloc.rpartition("@")[2]}
        )
        response = connection.getresponse()
        excerpt = _drain(response, deadline)
        status = response.status
        error = None if 200 <= status < 300 else f"HTTP {status}"
        if 300 <= status < 400:
            error = f"HTTP {status}: redirects are not followed"
        return outcome(status, error, response.getheader("Retry-After"), excerpt)
    except (OSError, http.client.HTTPException) as failure:
        if isinstance(failure, TimeoutError) or time.monotonic() >= deadline:
            return outcome(None, f"timed out after {timeout:g} s", timed_out=True)
        return outcome(None, f"{type(failure).__name__}: {failure}"[:500])
    finally:
        done.set()
        connection.close()


def _watch(
    done: threading.Event,
    connection: http.client.HTTPConnection,
    timeout: float,
    slow_after: float | None,
    on_slow: Callable[[], None] | None,
) -> None:
    waited = 0.0
    if slow_after is not None and on_slow is not None and slow_after < timeout:
        if done.wait(slow_after):
            return
        _quietly(on_slow)
        waited = slow_after
    if not done.wait(timeout - waited):
        _cut(connection)


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _drain(response: http.client.HTTPResponse, deadline: float) -> str | None:
    """Read at most READ_CAP bytes of the body, within the deadline; the rest is dropped.
    Returns the first EXCERPT_BYTES as text (None for an empty body)."""
    remaining = READ_CAP
    head = b""
    while remaining > 0:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(min(remaining, 4096))
        if not chunk:
            break
        if len(head) < EXCERPT_BYTES:
            head += chunk[: EXCERPT_BYTES - len(head)]
        remaining -= len(chunk)
    return head.decode(errors="replace") if head else None


def _quietly(callback: Callable[[], None]) -> None:
    """The slow callback is advice: its failure is logged, and the attempt goes on."""
    try:
        callback()
    except Exception:
        log.exception("the slow-attempt callback failed")
