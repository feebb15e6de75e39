"""The local stand-in for a scheduled rule invoking a function (the webhook probe function,
every minute in AWS)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("waymark.local.schedule")


class Every:
    """Calls `action` every `interval` seconds on a background thread, like a scheduled rule
    invoking a function (the probe function, every minute in AWS)."""

    def __init__(self, interval: float, action: Callable[[], Any], name: str) -> None:
        self.interval = interval
        self.action = action
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.action()
            except Exception:  # keep the schedule, like EventBridge would
                log.exception("%s failed", self.name)
