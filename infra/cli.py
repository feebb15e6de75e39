"""`waymark`: the admin CLI for environments, their rate limits and API keys, and imports
and exports.

Targets: the local stack (`--local`, reading `.local/dev.json`), a deployed stack
(`--stack Waymark-prod`: its table and API from the stack's outputs, with the usual AWS
credentials), or a table alone (`--table`, `--endpoint-url`; `--rest-api-id` and `--stage`
add the API). Against a deployed API the CLI also manages what API Gateway enforces: each
environment's usage-plan key and plan (rate limits), and the authorizer cache (revocation).
Imports and exports go through the API (`--local`, or `--url` and `--api-key`), as any
client's would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from infra.usage_plans import StageApi, UsagePlans
from shared.domain.rate_limits import RateLimits, limits_problem


def local_state() -> Path:
    """The local stack's state file (`make dev` writes it; WAYMARK_LOCAL_DIR moves it)."""
    return Path(os.environ.get("WAYMARK_LOCAL_DIR") or ".local") / "dev.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="waymark", description=__doc__.splitlines()[0])
    target = parser.add_argument_group("target")
    target.add_argument("--local", action="store_true", help="use the local stack (make dev)")
    target.add_argument("--stack", help="a deployed stack's name, e.g. Waymark-prod")
    target.add_argument("--table", help="DynamoDB table name (default: $TABLE_NAME)")
    target.add_argument("--endpoint-url", help="DynamoDB endpoint (default: AWS)")
    target.add_argument("--rest-api-id", help="the stage's REST API id (with --table)")
    target.add_argument("--stage", help="the API stage's name (with --table)")
    target.add_argument("--region", help="AWS region (default: from the AWS config)")
    target.add_argument("--url", help="API base URL for import/export (default: $WAYMARK_URL)")
    target.add_argument("--api-key", help="API key for import/export (default: $WAYMARK_API_KEY)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    commands = parser.add_subparsers(dest="resource", required=True)

    environments = commands.add_parser("env", help="environments").add_subparsers(
        dest="action", required=True
    )
    create_env = environments.add_parser("create", help="create an environment")
    create_env.add_argument("name")
    environments.add_parser("list", help="list environments")
    show_env = environments.add_parser("show", help="an environment and its rate limits")
    show_env.add_argument("environment_id")
    limits = environments.add_parser("limits", help="set an environment's rate limits")
    limits.add_argument("environment_id")
    limits.add_argument("--rate", type=float, help="requests a second, sustained")
    limits.add_argument("--burst", type=int, help="requests at once")
    quota = limits.add_mutually_exclusive_group()
    quota.add_argument("--daily-quota", type=int, help="requests a UTC day")
    quota.add_argument("--no-quota", action="store_true", help="no daily quota")
    limits.add_argument("--default", action="store_true", help="back to the default limits")
    environments.add_parser(
        "sync", help="give every environment its usage-plan key and plan (after an upgrade)"
    )
    reindex = environments.add_parser(
        "reindex",
        help="place the users written before ordered lists existed (after an upgrade)",
    )
    reindex.add_argument("environment_id", nargs="?", help="default: every environment")

    webhooks = commands.add_parser("webhooks", help="webhook subscriptions").add_subparsers(
        dest="action", required=True
    )
    webhooks.add_parser(
        "seal-secrets",
        help="encrypt the secrets stored in clear before encryption (every environment)",
    )

    api_keys = commands.add_parser("key", help="API keys").add_subparsers(
        dest="action", required=True
    )
    create_key = api_keys.add_parser("create", help="create a key (printed once)")
    create_key.add_argument("environment_id")
    create_key.add_argument("--name", default="default")
    list_keys = api_keys.add_parser("list", help="list an environment's keys")
    list_keys.add_argument("environment_id")
    revoke_key = api_keys.add_parser("revoke", help="revoke a key by its id")
    revoke_key.add_argument("environment_id")
    revoke_key.add_argument("key_id")

    imports = commands.add_parser("import", help="import users or groups from a file")
    imports.add_argument("file", type=Path, help="NDJSON (one POST /users body a line) or CSV")
    imports.add_argument("--type", choices=["users", "groups"], default="users")
    imports.add_argument("--format", choices=["ndjson", "csv"], help="default: the extension's")
    imports.add_argument("--report", type=Path, help="write every bad row here (NDJSON)")
    exports = commands.add_parser("export", help="export objects to a file")
    exports.add_argument("object_type", choices=["users", "groups", "events", "content_sessions"])
    exports.add_argument("-o", "--output", type=Path, required=True)
    exports.add_argument("--format", choices=["ndjson", "csv"], help="default: the extension's")
    exports.add_argument("--condition", help="a condition as JSON, as GET /users takes it")
    return parser


def configure_target(arguments: argparse.Namespace) -> UsagePlans | None:
    """Point the store at the chosen table before it builds its client; the stage's usage
    plans when the target includes a deployed API (None: the local stack or a table alone)."""
    api: StageApi | None = None
    if arguments.region:
        os.environ["AWS_REGION"] = arguments.region
    if arguments.local:
        state_path = local_state()
        if not state_path.exists():
            raise SystemExit(f"No local stack state in {state_path}: run `make dev` first.")
        state = json.loads(state_path.read_text())
        os.environ["DYNAMODB_ENDPOINT_URL"] = state["dynamodb_endpoint_url"]
        os.environ["TABLE_NAME"] = state["table_name"]
        for variable in ("KMS_ENDPOINT_URL", "WEBHOOK_SECRETS_KEY_ID"):
            if state.get(variable.lower()):
                os.environ[variable] = state[variable.lower()]
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_REGION", "us-east-1")
    if arguments.stack:
        outputs = stack_outputs(arguments.stack)
        os.environ["TABLE_NAME"] = outputs["TableName"]
        os.environ["WEBHOOK_SECRETS_KEY_ID"] = outputs["SecretsKeyArn"]
        api = StageApi(outputs["RestApiId"], outputs["StageName"])
    if arguments.table:
        os.environ["TABLE_NAME"] = arguments.table
    if arguments.endpoint_url:
        os.environ["DYNAMODB_ENDPOINT_URL"] = arguments.endpoint_url
    if arguments.rest_api_id or arguments.stage:
        if not (arguments.rest_api_id and arguments.stage):
            raise SystemExit("Pass both --rest-api-id and --stage (or --stack).")
        api = StageApi(arguments.rest_api_id, arguments.stage)
    if "TABLE_NAME" not in os.environ:
        raise SystemExit("Which table? Pass --stack NAME, --table NAME, or use --local.")
    os.environ.setdefault("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION") or _aws_region())
    from shared.store import dynamo
    from shared.webhooks import sealing

    dynamo.reset()
    sealing.reset()
    if api is None:
        return None
    import boto3

    return UsagePlans(boto3.client("apigateway", region_name=os.environ["AWS_REGION"]), api)


def stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    (stack,) = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _aws_region() -> str:
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise SystemExit("Which region? Pass --region or configure a default AWS region.")
    return str(region)


def run(arguments: argparse.Namespace, plans: UsagePlans | None) -> tuple[Any, str]:
    """Carry out the command; returns (JSON result, human-readable text)."""
    if arguments.resource == "env":
        return run_environment(arguments, plans)
    if arguments.resource == "webhooks":
        return run_webhooks()
    return run_key(arguments, plans)


def run_webhooks() -> tuple[Any, str]:
    """`webhooks seal-secrets`: after upgrading a table whose secrets were stored in clear."""
    from shared.store import subscriptions, tenancy

    sealed = {
        environment.id: subscriptions.seal_stored_secrets(environment.id)
        for environment in tenancy.list_environments()
    }
    total = sum(sealed.values())
    return {"sealed": total}, f"Sealed the secrets of {total} subscription(s)."


def _reindex(environment_id: str | None) -> tuple[Any, str]:
    """Gives the users of one environment (or all) their ordered entries: until then their
    lists by name, signed_up_at or last_seen_at take the bounded in-memory path."""
    from shared.store import tenancy, user_order

    if environment_id is not None and tenancy.get_environment(environment_id) is None:
        raise LookupError(f"No environment {environment_id}")
    targets = [environment_id] if environment_id else [e.id for e in tenancy.list_environments()]
    placed = {target: user_order.backfill(target) for target in targets}
    total = sum(placed.values())
    return placed, f"Placed {total} user(s) of {len(placed)} environment(s) in their orders."


def run_environment(arguments: argparse.Namespace, plans: UsagePlans | None) -> tuple[Any, str]:
    from shared.store import tenancy

    if arguments.action == "create":
        environment = tenancy.create_environment(arguments.name)
        if plans is not None:
            plans.assign(environment.id, environment.effective_limits)
        return _environment(environment), (
            f"Created environment {environment.id} ({environment.name}): "
            f"{environment.effective_limits.describe()}"
        )
    if arguments.action == "list":
        environments = tenancy.list_environments()
        lines = [f"{e.id}  {e.created_at}  {e.name}" for e in environments]
        return [_environment(e) for e in environments], "\n".join(lines) or "No environments."
    if arguments.action == "sync":
        if plans is None:
            raise SystemExit("`env sync` manages a deployed API: pass --stack NAME.")
        environments = tenancy.list_environments()
        for environment in environments:
            plans.assign(environment.id, environment.effective_limits)
        return {"synced": len(environments)}, f"{len(environments)} environment(s) in sync."
    if arguments.action == "reindex":
        return _reindex(arguments.environment_id)
    found = tenancy.get_environment(arguments.environment_id)
    if arguments.action == "limits" and found is not None:
        found = tenancy.set_rate_limits(found.id, _limits(arguments, found))
        if found is not None and plans is not None:
            plans.assign(found.id, found.effective_limits)
    if found is None:
        raise LookupError(f"No environment {arguments.environment_id}")
    environment = found
    own = "" if environment.rate_limits else " (the defaults)"
    return _environment(environment), (
        f"{environment.id}  {environment.name}: {environment.effective_limits.describe()}{own}"
    )


def _limits(arguments: argparse.Namespace, environment: Any) -> RateLimits | None:
    """The limits a `limits` command asks for: what it gives, the rest as they were."""
    if arguments.default:
        return None
    current: RateLimits = environment.effective_limits
    rate = arguments.rate if arguments.rate is not None else current.rate
    burst = arguments.burst if arguments.burst is not None else current.burst
    quota = current.daily_quota
    if arguments.no_quota:
        quota = None
    elif arguments.daily_quota is not None:
        quota = arguments.daily_quota
    problem = limits_problem(rate, burst, quota)
    if problem:
        raise ValueError(problem)
    return RateLimits(rate=rate, burst=burst, daily_quota=quota)


def _environment(environment: Any) -> dict[str, Any]:
    limits: RateLimits = environment.effective_limits
    return {
        "id": environment.id,
        "name": environment.name,
        "created_at": environment.created_at,
        "rate_limits": {**asdict(limits), "default": environment.rate_limits is None},
    }


def run_key(arguments: argparse.Namespace, plans: UsagePlans | None) -> tuple[Any, str]:
    from shared.store import tenancy

    if arguments.action == "create":
        record, plain = tenancy.create_api_key(arguments.environment_id, arguments.name)
        text = f"Created key {record.id} for {record.environment_id}:\n{plain}\n(shown only once)"
        return {**asdict(record), "api_key": plain}, text
    if arguments.action == "list":
        records = tenancy.list_api_keys(arguments.environment_id)
        lines = [f"{k.id}  {k.created_at}  ...{k.last4}  {k.name}" for k in records]
        return [asdict(k) for k in records], "\n".join(lines) or "No keys."
    revoked = tenancy.revoke_api_key(arguments.environment_id, arguments.key_id)
    if not revoked:
        raise LookupError(f"No key {arguments.key_id} in {arguments.environment_id}")
    if plans is not None:
        # API Gateway caches the authorizer's answer per key for minutes: forget them all.
        plans.flush_authorizer_cache()
        when = "now"
    elif arguments.local:
        when = "now"  # the local stack caches no authorizer answer
    else:
        when = "within the authorizer cache's 5 minutes (pass --stack to make it now)"
    return (
        {"id": arguments.key_id, "revoked": True, "effective": when},
        f"Revoked {arguments.key_id}: effective {when}",
    )


def main(argv: list[str] | None = None, console: Any = None) -> int:
    """`console`: where import and export draw their progress (a rich Console; tests pass one
    writing to a buffer)."""
    arguments = build_parser().parse_args(argv)
    if arguments.resource in ("import", "export"):
        return transfer(arguments, console)
    plans = configure_target(arguments)
    try:
        result, text = run(arguments, plans)
    except (LookupError, ValueError) as error:
        message = str(error.args[0]) if error.args else str(error)
        print(json.dumps({"error": message}) if arguments.json else message, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if arguments.json else text)
    return 0


def transfer(arguments: argparse.Namespace, console: Any) -> int:
    from rich.console import Console

    from infra import cli_transfers

    api = cli_transfers.api_from(arguments, local_state())
    out = console or Console()
    try:
        if arguments.resource == "import":
            return cli_transfers.import_file(
                api,
                arguments.file,
                object_type=arguments.type,
                given_format=arguments.format,
                report=arguments.report,
                console=out,
            )
        return cli_transfers.export_objects(
            api,
            arguments.object_type,
            output=arguments.output,
            given_format=arguments.format,
            condition=arguments.condition,
            console=out,
        )
    except cli_transfers.ApiFailure as failure:
        out.print(f"[red]The API refused:[/red] {failure}")
        return cli_transfers.FAILED


if __name__ == "__main__":
    sys.exit(main())
