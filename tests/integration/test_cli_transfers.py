"""`waymark import` and `waymark export` against the local stack: the progress they draw and
the summary they end with."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from rich.console import Console

from infra import cli
from tests.integration.conftest import ApiClient

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def terminal() -> tuple[Console, io.StringIO]:
    """A console that draws as in a terminal (redraws included), into a buffer."""
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120, color_system=None), buffer


def plain(buffer: io.StringIO) -> str:
    return ANSI.sub("", buffer.getvalue()).replace("\r", "\n")


def target(api: ApiClient) -> list[str]:
    assert api.api_key is not None
    return ["--url", api.base_url, "--api-key", api.api_key]


def test_import_shows_progress_and_the_bad_rows(api: ApiClient, tmp_path: Path) -> None:
    rows = [json.dumps({"id": f"cli-{n}", "attributes": {"n": n}}) for n in range(8)]
    rows.insert(2, "{not json")
    rows.insert(5, json.dumps({"id": "cli-bad", "attributes": {"x": {"add": 1}}}))
    source = tmp_path / "users.ndjson"
    source.write_text("\n".join(rows) + "\n")
    report = tmp_path / "errors.ndjson"
    console, buffer = terminal()

    code = cli.main([*target(api), "import", str(source), "--report", str(report)], console)

    output = plain(buffer)
    assert code == 2  # some rows failed
    assert f"Uploading users.ndjson ({source.stat().st_size:,} bytes)" in output
    # The bar as it ends: every row done, two of them failed.
    assert re.search(r"Importing users .* 10/10 +2 failed", output), output
    assert "Imported 8 of 10 rows into users in " in output
    assert "; 2 failed." in output
    assert "  line 3: The row is not valid JSON" in output
    assert "  line 6 (cli-bad): Invalid `attributes.x`: an import row cannot `add`" in output
    assert f"Every bad row is in {report}." in output
    assert [json.loads(line)["row"] for line in report.read_text().splitlines()] == [3, 6]


def test_export_shows_progress_and_writes_the_file(api: ApiClient, tmp_path: Path) -> None:
    for n in range(5):
        body = {"id": f"x{n}", "attributes": {"plan": "pro" if n < 3 else "free"}}
        assert api.request("POST", "/users", json=body).status == 200
    output_file = tmp_path / "pro.ndjson"
    condition = {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "pro"}
    console, buffer = terminal()

    code = cli.main(
        [
            *target(api),
            "export",
            "users",
            "--condition",
            json.dumps(condition),
            "-o",
            str(output_file),
        ],
        console,
    )

    output = plain(buffer)
    assert code == 0
    assert re.search(r"Exporting users .* 3/3", output), output
    exported = [json.loads(line) for line in output_file.read_text().splitlines()]
    assert sorted(u["id"] for u in exported) == ["x0", "x1", "x2"]
    assert f"Exported 3 users to {output_file} ({output_file.stat().st_size:,} bytes) in " in output


def test_a_refused_request_is_reported_not_raised(api: ApiClient, tmp_path: Path) -> None:
    console, buffer = terminal()
    code = cli.main(
        [
            *target(api),
            "export",
            "users",
            "--condition",
            '{"type": "nope"}',
            "-o",
            str(tmp_path / "x.ndjson"),
        ],
        console,
    )
    assert code == 1
    assert "The API refused:" in plain(buffer)
    assert "--format" in _format_question(api, tmp_path)


def _format_question(api: ApiClient, tmp_path: Path) -> str:
    try:
        cli.main([*target(api), "import", str(tmp_path / "users.txt")], terminal()[0])
    except SystemExit as exit:
        return str(exit.code)
    raise AssertionError("an unknown extension needs --format")
