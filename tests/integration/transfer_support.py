"""Import and export jobs as a client runs them: create, upload, start, wait, download."""

from __future__ import annotations

import http.client
import time
from typing import Any
from urllib.parse import urlsplit

from tests.integration.conftest import ApiClient


def put_file(url: str, data: bytes) -> int:
    """PUT a file to a presigned URL (what `curl -T` does); returns the status."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname or "", split.port or 80, timeout=120)
    try:
        connection.request("PUT", f"{split.path}?{split.query}", body=data)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def get_file(url: str) -> bytes:
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname or "", split.port or 80, timeout=120)
    try:
        connection.request("GET", f"{split.path}?{split.query}")
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:200])
        return body
    finally:
        connection.close()


def job(api: ApiClient, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = api.request("POST" if body is not None else "GET", path, json=body)
    assert answer.status == 200, (answer.status, answer.text)
    found: dict[str, Any] = answer.json()
    return found


def wait(api: ApiClient, path: str, timeout: float = 600.0) -> dict[str, Any]:
    """Poll a job until it finishes."""
    deadline = time.monotonic() + timeout
    while True:
        found = job(api, path)
        if found["status"] in ("succeeded", "failed"):
            return found
        assert time.monotonic() < deadline, f"{path} still {found['status']}: {found['progress']}"
        time.sleep(0.2)


def run_import(
    api: ApiClient, data: bytes, object_type: str = "users", file_format: str = "ndjson"
) -> dict[str, Any]:
    created = job(api, "/imports", {"object_type": object_type, "format": file_format})
    assert created["status"] == "awaiting_upload"
    assert put_file(created["upload_url"], data) == 200
    started = job(api, f"/imports/{created['id']}/start", {})
    assert started["status"] in ("queued", "running", "succeeded")
    return wait(api, f"/imports/{created['id']}")


def run_export(api: ApiClient, **body: Any) -> tuple[dict[str, Any], bytes]:
    created = job(api, "/exports", body)
    finished = wait(api, f"/exports/{created['id']}")
    assert finished["status"] == "succeeded", finished
    return finished, get_file(finished["download_url"])


def row_errors(api: ApiClient, job_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = job(api, f"/imports/{job_id}/errors?limit=100")
    while True:
        found += page["data"]
        if not page["has_more"]:
            return found
        page = job(api, page["next_page_url"])
