"""`waymark`: the admin CLI for environments and API keys, and imports and exports.

Environments and keys work against the local stack (`--local`, reading `.local/dev.json`) or
any table reachable with the usual AWS credentials (`--table`, `--endpoint-url`). Imports and
exports go through the API (`--local`, or `--url` and `--api-key`), as any client's would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any


def local_state() -> Path:
    """The local stack's state file (`make dev` writes it; WAYMARK_LOCAL_DIR moves it)."""
    return Path(os.environ.get("WAYMARK_LOCAL_DIR") or ".local") / "dev.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="waymark", description=__doc__.splitlines()[0])
    target = parser.add_argument_group("target table")
    target.add_argument("--local", action="store_true", help="use the local stack (make dev)")
    target.add_argument("--table", help="DynamoDB table name (default: $TABLE_NAME)")
    target.add_argument("--endpoint-url", help="DynamoDB endpoint (default: AWS)")
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


def configure_target(arguments: argparse.Namespace) -> None:
    """Point the store at the chosen table before it builds its client."""
    if arguments.local:
        state_path = local_state()
        if not state_path.exists():
            raise SystemExit(f"No local stack state in {state_path}: run `make dev` first.")
        state = json.loads(state_path.read_text())
        os.environ["DYNAMODB_ENDPOINT_URL"] = state["dynamodb_endpoint_url"]
        os.environ["TABLE_NAME"] = state["table_name"]
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_REGION", "us-east-1")
    if arguments.table:
        os.environ["TABLE_NAME"] = arguments.table
    if arguments.endpoint_url:
        os.environ["DYNAMODB_ENDPOINT_URL"] = arguments.endpoint_url
    if arguments.region:
        os.environ["AWS_REGION"] = arguments.region
    if "TABLE_NAME" not in os.environ:
        raise SystemExit("Which table? Pass --table NAME, set TABLE_NAME, or use --local.")
    from shared.store import dynamo

    dynamo.reset()


def run(arguments: argparse.Namespace) -> tuple[Any, str]:
    """Carry out the command; returns (JSON result, human-readable text)."""
    from shared.store import tenancy

    if arguments.resource == "env":
        if arguments.action == "create":
            environment = tenancy.create_environment(arguments.name)
            return asdict(environment), f"Created environment {environment.id} ({environment.name})"
        environments = tenancy.list_environments()
        lines = [f"{e.id}  {e.created_at}  {e.name}" for e in environments]
        return [asdict(e) for e in environments], "\n".join(lines) or "No environments."

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
    return {"id": arguments.key_id, "revoked": True}, f"Revoked {arguments.key_id}"


def main(argv: list[str] | None = None, console: Any = None) -> int:
    """`console`: where import and export draw their progress (a rich Console; tests pass one
    writing to a buffer)."""
    arguments = build_parser().parse_args(argv)
    if arguments.resource in ("import", "export"):
        return transfer(arguments, console)
    configure_target(arguments)
    try:
        result, text = run(arguments)
    except LookupError as error:
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
