"""Every Lambda function: runtime, architecture, layer, tracing, logging, environment, asset."""

from __future__ import annotations

import importlib.util
import marshal
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from infra.constructs.python_function import SourceCopyBundler, function_code
from infra.constructs.transfers import TRANSFER_JOBS
from infra.constructs.webhooks import WEBHOOK_DELIVERY, WEBHOOK_DISPATCH, WEBHOOK_PROBE
from infra.functions import DEPLOYED_FUNCTIONS
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute, match
from shared.settings import LOCAL_ONLY_VARIABLES, METRICS_NAMESPACE, Variables, load_settings
from tests.infra.conftest import Synthesized

POWERTOOLS_LAYER = re.compile(
    r"^arn:aws:lambda:\$\{AWS::Region\}:017000801446:layer:"
    r"AWSLambdaPowertoolsPythonV3-python313-arm64:\d+$"
)


def _join(value: Any) -> str:
    """Render a Fn::Join of literals and Refs as text, for matching ARNs with tokens."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_join(part) for part in parts)
    if "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    raise AssertionError(f"unexpected intrinsic {value}")


def _function(dev: Synthesized, route: FunctionRoute) -> dict[str, Any]:
    properties: dict[str, Any] = dev.template_json["Resources"][dev.function_id(route.handler)][
        "Properties"
    ]
    return properties


def test_one_function_per_route_entry_the_authorizer_cascade_webhooks_and_jobs(
    dev: Synthesized,
) -> None:
    handlers = {
        function["Properties"]["Handler"]
        for function in dev.resources("AWS::Lambda::Function").values()
    }
    assert handlers == {route.handler for route in DEPLOYED_FUNCTIONS}


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_runtime_architecture_layer_and_no_tracing(dev: Synthesized, route: FunctionRoute) -> None:
    function = _function(dev, route)
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    # X-Ray off: no segment would be recorded (infra/constructs/python_function.py).
    assert function.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": "PassThrough"}
    (layer,) = function["Layers"]
    assert POWERTOOLS_LAYER.match(_join(layer)), _join(layer)


def _queue_urls(dev: Synthesized, route: FunctionRoute) -> dict[str, Any]:
    """The queue URLs and buckets a function is given (a queue's Ref is its URL)."""
    webhooks = dev.stack.webhooks
    transfers = {
        "TRANSFERS_BUCKET": {"Ref": dev.logical_id(dev.stack.transfers.bucket)},
        "JOBS_QUEUE_URL": {"Ref": dev.logical_id(dev.stack.transfers.queue)},
    }
    queue = {"WEBHOOK_QUEUE_URL": {"Ref": dev.logical_id(webhooks.queue)}}
    dead_letters = {
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": {"Ref": dev.logical_id(webhooks.dead_letter_queue)}
    }
    bodies = {"WEBHOOK_BODIES_BUCKET": {"Ref": dev.logical_id(webhooks.bodies)}}
    key = {"WEBHOOK_SECRETS_KEY_ID": {"Fn::GetAtt": [dev.logical_id(webhooks.secrets_key), "Arn"]}}
    expected: dict[str, dict[str, Any]] = {
        "webhook_subscriptions": queue | bodies | key,
        WEBHOOK_DISPATCH.name: queue | bodies,
        WEBHOOK_DELIVERY.name: queue | dead_letters | key | bodies,
        WEBHOOK_PROBE.name: queue | dead_letters | key | bodies,
        "transfers": transfers,
        TRANSFER_JOBS.name: transfers,
    }
    return expected.get(route.name, {})


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_environment(dev: Synthesized, route: FunctionRoute) -> None:
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    assert _function(dev, route)["Environment"]["Variables"] == {
        "TABLE_NAME": {"Ref": table_id},
        "POWERTOOLS_SERVICE_NAME": route.name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **_queue_urls(dev, route),
    }


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_the_settings_accept_every_function_environment(
    dev: Synthesized, route: FunctionRoute
) -> None:
    """The variables the stack sets are the ones shared/settings.py reads: with each token
    replaced by a value, every function's environment parses (no unknown, none missing)."""
    variables = _function(dev, route)["Environment"]["Variables"]
    environ = {name: value if isinstance(value, str) else "x" for name, value in variables.items()}
    settings = load_settings({**environ, "AWS_REGION": "us-east-1"})
    assert settings.table_name == "x"
    named = {value for name, value in vars(Variables).items() if not name.startswith("_")}
    assert set(variables) <= named, set(variables) - named
    assert not set(variables) & set(LOCAL_ONLY_VARIABLES)


# Bulk upserts need nearly all of API Gateway's 29 s; everything else answers in far less.
SIZING = {"users_bulk": (1024, 28)}


@pytest.mark.parametrize("route", API_FUNCTIONS, ids=lambda route: route.name)
def test_api_function_sizing(dev: Synthesized, route: FunctionRoute) -> None:
    function = _function(dev, route)
    assert (function["MemorySize"], function["Timeout"]) == SIZING.get(route.name, (512, 10))
    assert function["Timeout"] < 29  # API Gateway's integration timeout


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_logs_go_to_an_own_log_group_with_retention(dev: Synthesized, route: FunctionRoute) -> None:
    log_group_ref = _function(dev, route)["LoggingConfig"]["LogGroup"]
    log_group = dev.template_json["Resources"][log_group_ref["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] > 0


def _asset_dir(dev: Synthesized, route: FunctionRoute) -> Path:
    key = _function(dev, route)["Code"]["S3Key"]
    return dev.outdir / f"asset.{key.removesuffix('.zip')}"


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_asset_holds_the_function_and_shared_only(dev: Synthesized, route: FunctionRoute) -> None:
    asset = _asset_dir(dev, route)
    files = {path.relative_to(asset).as_posix() for path in asset.rglob("*") if path.is_file()}
    assert f"{route.folder}/handler.py" in files
    assert f"{route.folder}/__init__.py" in files
    assert "functions/__init__.py" in files
    assert "shared/__init__.py" in files
    assert "shared/store/schema.py" in files
    top_level = {name.split("/", 1)[0] for name in files}
    assert top_level == {"functions", "shared"}
    function_folders = {
        name.split("/")[1]
        for name in files
        if name.startswith("functions/") and name.count("/") == 2 and "__pycache__" not in name
    }
    # Only its own, and those whose handlers it runs (the Usertour v1 function's).
    expected = {folder.split("/")[1] for folder in (route.folder, *route.bundles)}
    assert function_folders <= expected, "other functions leaked in"
    for folder in route.bundles:
        assert f"{folder}/handler.py" in files
    # Beside each module its bytecode for the runtime's Python, and no other.
    sources = {name for name in files if name.endswith(".py")}
    compiled = {
        f"{name.rsplit('/', 1)[0]}/__pycache__/{name.rsplit('/', 1)[1][:-3]}.cpython-313.pyc"
        for name in sources
    }
    assert files - sources == compiled
    assert not any(name.startswith((".venv", "node_modules", "tests", "cdk.out")) for name in files)


def test_the_v1_function_bundles_exactly_the_handlers_it_runs() -> None:
    from shared.usertour import mapping

    (v1,) = [route for route in API_FUNCTIONS if route.name == "usertour_v1"]
    handlers = {r.handler for r in (*mapping.ROUTES.values(), mapping.DELETE_MEMBERSHIP)}
    assert set(v1.bundles) == {
        handler.replace(".", "/").removesuffix("/handler") for handler in handlers
    }
    assert set(v1.paths) == set(mapping.ROUTES)
    # Each v1 route's Waymark route is served by the handler the mapping names.
    for route in (*mapping.ROUTES.values(), mapping.DELETE_MEMBERSHIP):
        found = match(route.template)
        assert found is not None and found[0].module == route.handler, route


def test_every_function_has_its_own_asset(dev: Synthesized) -> None:
    keys = [_function(dev, route)["Code"]["S3Key"] for route in DEPLOYED_FUNCTIONS]
    assert len(set(keys)) == len(keys)


def _make_tree(root: Path) -> None:
    (root / "functions" / "thing").mkdir(parents=True)
    (root / "functions" / "__init__.py").write_text("")
    (root / "functions" / "thing" / "__init__.py").write_text("")
    (root / "functions" / "thing" / "handler.py").write_text("def lambda_handler(e, c): ...\n")
    (root / "functions" / "other").mkdir()
    (root / "functions" / "other" / "handler.py").write_text("")
    (root / "shared" / "__pycache__").mkdir(parents=True)
    (root / "shared" / "__init__.py").write_text("")
    (root / "shared" / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"")
    (root / "shared" / "code.py").write_text("VALUE = 1\n")
    (root / ".venv").mkdir()
    (root / ".venv" / "big.bin").write_bytes(b"0" * 10)


def test_bundler_copies_the_function_folder_and_shared(tmp_path: Path) -> None:
    _make_tree(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    bundler = SourceCopyBundler(tmp_path / "src", ("functions/thing", "shared"))
    assert bundler.try_bundle(str(out), image=lambda_.Runtime.PYTHON_3_13.bundling_image)
    files = {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
    assert files == {
        "functions/__init__.py",
        "functions/thing/__init__.py",
        "functions/thing/handler.py",
        "shared/__init__.py",
        "shared/code.py",
    }


def test_the_bundler_ships_bytecode_the_interpreter_trusts_without_the_source(
    tmp_path: Path,
) -> None:
    """Unchecked-hash bytecode beside every module, naming the deployed files: so an import
    reads neither the source's mtime (zip archives lose it) nor the source itself."""
    _make_tree(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    bundler = SourceCopyBundler(tmp_path / "src", ("functions/thing", "shared"), sys.executable)
    assert bundler.try_bundle(str(out), image=lambda_.Runtime.PYTHON_3_13.bundling_image)
    for source in out.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == 0b01, "hash-based, source unchecked"
        code = marshal.loads(cached.read_bytes()[16:])
        assert code.co_filename == f"/var/task/{source.relative_to(out).as_posix()}"
    # The proof an import uses it: with the source broken, the module still loads.
    (out / "shared" / "code.py").write_text("raise SystemExit('the source was compiled')\n")
    loaded = subprocess.run(
        [sys.executable, "-B", "-c", "import shared.code; print(shared.code.VALUE)"],
        cwd=out,
        capture_output=True,
        text=True,
    )
    assert loaded.stdout.strip() == "1", loaded.stderr


def _asset_hash(root: Path, outdir: Path) -> str:
    # The asset cache is per process; a real `cdk synth` is a fresh process every time.
    cdk.AssetStaging.clear_asset_hash_cache()
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "HashProbe")
    lambda_.Function(
        stack,
        "Probe",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="functions.thing.handler.lambda_handler",
        code=function_code("functions/thing", root=root),
    )
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    return str(function["Properties"]["Code"]["S3Key"])


def test_a_change_in_shared_changes_the_asset_hash(tmp_path: Path) -> None:
    root = tmp_path / "src"
    _make_tree(root)
    before = _asset_hash(root, tmp_path / "out1")
    assert _asset_hash(root, tmp_path / "out2") == before, "hash must be reproducible"
    (root / "shared" / "code.py").write_text("VALUE = 2\n")
    assert _asset_hash(root, tmp_path / "out3") != before


def test_without_the_runtimes_python_an_asset_ships_source_and_the_synth_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_cdk.assertions import Annotations, Match

    from infra.constructs import python_function

    monkeypatch.setattr(python_function, "runtime_python", lambda: None)
    cdk.AssetStaging.clear_asset_hash_cache()  # bundle again, not the cached asset
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "NoBytecode")
    python_function.PythonFunction(
        stack,
        "Authorizer",
        route=AUTHORIZER,
        table_name="table",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    cdk.AssetStaging.clear_asset_hash_cache()  # later tests bundle with bytecode again
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("ships source only")
    )
    assert len(warnings) == 1
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    asset = tmp_path / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    files = [path.name for path in asset.rglob("*") if path.is_file()]
    assert "handler.py" in files
    assert not any(name.endswith(".pyc") for name in files)
