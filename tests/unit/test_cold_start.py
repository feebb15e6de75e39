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

# The content half's rules and stores load only in the functions that show content.
CONTENT_HALF = (
    "shared.domain.content",
    "shared.domain.sessions",
    "shared.store.content",
    "shared.store.sessions",
)
CONTENT_FUNCTIONS = (
    "functions.content.handler",
    "functions.content_sessions.handler",
    "functions.usertour_v1.handler",
)
# What a route or a job loads on first use, by the functions that have such routes.
ON_FIRST_USE = {
    "functions.users.handler": ("shared.services.finder", "shared.services.deletion"),
    "functions.groups.handler": ("shared.services.finder", "shared.services.deletion"),
    "functions.events.handler": ("shared.services.writes",),
    "functions.transfers.handler": ("shared.services.exports", "shared.services.imports"),
    "functions.transfer_jobs.handler": ("shared.services.exports", "shared.services.imports"),
    "functions.webhook_subscriptions.handler": ("shared.store.changes",),
}

_PROBE = """
import json, sys
import botocore.session
created = []
create_client = botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    created.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
import ssl
contexts = []
create_default_context = ssl.create_default_context
def recording_context(*args, **kwargs):
    contexts.append(1)
    return create_default_context(*args, **kwargs)
ssl.create_default_context = recording_context
import {module}
print(json.dumps({{"modules": sorted(sys.modules), "clients": created, "tls": len(contexts)}}))
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


@pytest.mark.parametrize("module", sorted(set(HANDLERS) - set(CONTENT_FUNCTIONS)))
def test_functions_that_show_no_content_do_not_import_its_rules(module: str) -> None:
    loaded = set(imported(module)["modules"])
    assert loaded.isdisjoint(CONTENT_HALF), sorted(loaded & set(CONTENT_HALF))


@pytest.mark.parametrize("module", sorted(ON_FIRST_USE))
def test_services_only_some_routes_use_load_on_first_use(module: str) -> None:
    loaded = set(imported(module)["modules"])
    assert loaded.isdisjoint(ON_FIRST_USE[module]), sorted(loaded & set(ON_FIRST_USE[module]))


@pytest.mark.parametrize("module", HANDLERS)
def test_importing_a_handler_builds_no_tls_context(module: str) -> None:
    """Loading the CA bundle costs about 20 ms: the first webhook POST does it."""
    assert imported(module)["tls"] == 0


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


def test_the_probe_sees_a_tls_context_built_at_import() -> None:
    assert imported("ssl; ssl.create_default_context()")["tls"] == 1
