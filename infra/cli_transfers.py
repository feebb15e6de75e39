"""`waymark import FILE` and `waymark export TYPE -o FILE`: an import or export job run
through the API, as any client would run it, with a progress bar and a summary at the end.

An import creates the job, PUTs the file to the job's presigned upload URL, starts it and
follows its progress (rows done and failed of the total) until it finishes, then prints the
first bad rows (all of them with `--report`). An export creates the job, follows it and
downloads the file. Progress is drawn with rich: redrawn in place in a terminal, printed once
at the end elsewhere (logs, pipes).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

POLL_SECONDS = 0.5
SHOWN_ERRORS = 10
FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson"}
# Exit codes: every row imported (0), the job failed or the API refused (1), some rows bad (2).
OK, FAILED, SOME_ROWS_FAILED = 0, 1, 2


class ApiFailure(Exception):
    """The API answered with an error (its envelope's code and message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status


@dataclass(frozen=True)
class Api:
    """The Waymark API at `url` with one environment's key."""

    url: str
    api_key: str

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url.rstrip("/") + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                found: dict[str, Any] = json.loads(response.read())
                return found
        except urllib.error.HTTPError as error:
            try:
                envelope = json.loads(error.read())["error"]
                raise ApiFailure(error.code, envelope["code"], envelope["message"]) from None
            except (ValueError, KeyError, TypeError):
                raise ApiFailure(error.code, "http_error", str(error)) from None


def put_file(url: str, path: Path) -> None:
    """Upload a file to a presigned URL, streamed."""
    with path.open("rb") as body:
        request = urllib.request.Request(
            url,
            data=body,
            method="PUT",
            # Without a type urllib sends a form's, which S3 stores (and moto reads as a form).
            headers={
                "Content-Length": str(path.stat().st_size),
                "Content-Type": "application/octet-stream",
            },
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()


def download(url: str, path: Path) -> int:
    """Save a presigned URL's object to `path`; its size."""
    size = 0
    with urllib.request.urlopen(url, timeout=600) as response, path.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
    return size


def api_from(arguments: Any, state_path: Path) -> Api:
    """The API to talk to: the local stack's (`--local`), or `--url`/`--api-key` (or
    $WAYMARK_URL/$WAYMARK_API_KEY)."""
    if arguments.local:
        if not state_path.exists():
            raise SystemExit(f"No local stack state in {state_path}: run `make dev` first.")
        state = json.loads(state_path.read_text())
        return Api(state["url"], state["api_key"])
    url = arguments.url or os.environ.get("WAYMARK_URL")
    api_key = arguments.api_key or os.environ.get("WAYMARK_API_KEY")
    if not url or not api_key:
        raise SystemExit(
            "Which API? Pass --url and --api-key (or set WAYMARK_URL and WAYMARK_API_KEY), "
            "or use --local."
        )
    return Api(url, api_key)


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise SystemExit(f"Which format is {path.name}? Pass --format ndjson or --format csv.")
    return found


def progress_bar(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(finished_text="[green]done"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,  # redrawn after every poll: the output follows the job's steps
    )


def follow(
    api: Api, path: str, progress: Progress, description: str, poll_seconds: float
) -> dict[str, Any]:
    """Poll a job until it finishes, drawing its progress."""
    task = progress.add_task(description, total=None, failed="")
    while True:
        job = api.call("GET", path)
        counts = job["progress"]
        counting = job["object"] == "import" and counts["total"] is None
        progress.update(
            task,
            description="Counting rows" if counting else description,
            completed=counts["done"] + counts["failed"],
            total=counts["total"],
            failed=f"{counts['failed']:,} failed" if counts["failed"] else "",
        )
        progress.refresh()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(poll_seconds)


def import_file(
    api: Api,
    path: Path,
    *,
    object_type: str,
    given_format: str | None,
    report: Path | None,
    console: Console,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    started = time.monotonic()
    fmt = file_format(path, given_format)
    job = api.call("POST", "/imports", {"object_type": object_type, "format": fmt})
    size = path.stat().st_size
    console.print(f"Uploading {path.name} ({size:,} bytes) for import {job['id']}")
    put_file(job["upload_url"], path)
    api.call("POST", f"/imports/{job['id']}/start")
    with progress_bar(console) as progress:
        job = follow(
            api, f"/imports/{job['id']}", progress, f"Importing {object_type}", poll_seconds
        )
    seconds = time.monotonic() - started
    counts = job["progress"]
    if job["status"] == "failed":
        console.print(f"[red]Import {job['id']} failed:[/red] {job['error']['message']}")
        console.print(f"{counts['done']:,} rows were imported before it stopped.")
        return FAILED
    console.print(
        f"Imported {counts['done']:,} of {counts['total']:,} rows into {object_type} "
        f"in {seconds:.1f} s; {counts['failed']:,} failed."
    )
    if not counts["failed"]:
        return OK
    errors = _row_errors(api, job["id"], everything=report is not None)
    for error in errors[:SHOWN_ERRORS]:
        shown_id = f" ({error['object_id']})" if error["object_id"] else ""
        console.print(f"  line {error['row']}{shown_id}: {error['error']['message']}")
    if report is not None:
        with report.open("w", encoding="utf-8") as out:
            _write_lines(out, errors)
        console.print(f"Every bad row is in {report}.")
    elif counts["failed"] > SHOWN_ERRORS:
        console.print(f"  ... and {counts['failed'] - SHOWN_ERRORS:,} more (--report FILE).")
    return SOME_ROWS_FAILED


def _row_errors(api: Api, job_id: str, *, everything: bool) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    path = f"/imports/{job_id}/errors?limit=100"
    while True:
        page = api.call("GET", path)
        found += page["data"]
        if not page["has_more"] or (not everything and len(found) >= SHOWN_ERRORS):
            return found
        path = page["next_page_url"]


def _write_lines(out: IO[str], objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def export_objects(
    api: Api,
    object_type: str,
    *,
    output: Path,
    given_format: str | None,
    condition: str | None,
    console: Console,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    started = time.monotonic()
    body: dict[str, Any] = {"object_type": object_type, "format": file_format(output, given_format)}
    if condition is not None:
        try:
            body["condition"] = json.loads(condition)
        except ValueError as error:
            raise SystemExit(f"--condition is not JSON: {error}") from None
    job = api.call("POST", "/exports", body)
    with progress_bar(console) as progress:
        job = follow(
            api, f"/exports/{job['id']}", progress, f"Exporting {object_type}", poll_seconds
        )
    if job["status"] == "failed":
        console.print(f"[red]Export {job['id']} failed:[/red] {job['error']['message']}")
        return FAILED
    size = download(job["download_url"], output)
    seconds = time.monotonic() - started
    console.print(
        f"Exported {job['progress']['done']:,} {object_type} to {output} ({size:,} bytes) "
        f"in {seconds:.1f} s."
    )
    return OK
