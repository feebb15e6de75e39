"""Cold start: importing a function's handler loads only what every request needs.

Each handler is imported in a fresh interpreter, as Lambda does; what it loaded and which
boto3 clients it created are then checked (`make bench` measures the time this saves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Every function folder's handler (tests/infra pins that the stack deploys exactly these).
HANDLERS = sorted(
    f"functions.{path.parent.name}.handler" for path in (ROOT / "functions").glob("*/handler.py")
)

# Loaded on first use, never by an import: the request body models (pydantic: the first
# request parsing a body), the KMS envelope cipher (the first sealed secret).
NOT_AT_IMPORT = ("pydantic", "pydantic_core", "shared.http.models", "cryptography")

_PROBE = """
import json, sys
import botocore.session
created = []
create_client = botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    created.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
import {module}
print(json.dumps({{"modules": sorted(sys.modules), "clients": created}}))
"""


@cache
def imported(module: str) -> dict[str, Any]:
    """What importing `module` in a fresh interpreter loaded, and the clients it created."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_function_folder_has_a_handler() -> None:
    assert len(HANDLERS) >= 17
    assert "functions.users.handler" in HANDLERS


@pytest.mark.parametrize("module", HANDLERS)
def test_importing_a_handler_loads_no_pydantic_or_cryptography(
    module: str,
) -> None:
    loaded = imported(module)["modules"]
    heavy = [name for name in loaded if _within(name)]
    assert heavy == [], f"{module} imports {heavy[:5]} at cold start"


def _within(name: str) -> bool:
    return any(name == heavy or name.startswith(f"{heavy}.") for heavy in NOT_AT_IMPORT)


@pytest.mark.parametrize("module", HANDLERS)
def test_importing_a_handler_creates_no_aws_client(module: str) -> None:
    assert imported(module)["clients"] == []


def test_the_probe_sees_a_client_created_at_import() -> None:
    """The probe itself: a module creating a client at import is caught."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE.format(module="boto3; boto3.client('sqs', region_name='us-east-1')"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])["clients"] == ["sqs"]


def test_reading_the_settings_loads_no_pydantic() -> None:
    """Every function reads its settings at its first request: a GET, a stream batch or the
    authorizer's check parse no body, so they pay no pydantic."""
    code = (
        "import json, os, sys; os.environ.update(TABLE_NAME='t', AWS_REGION='us-east-1'); "
        "from shared.settings import get_settings; get_settings(); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "shared.settings" in loaded
    assert [name for name in loaded if _within(name)] == []
