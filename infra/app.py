"""The CDK app: `cdk synth` (cdk.json runs `python -m infra.app`), or `build_app()` in tests.

cdk-nag's AwsSolutions pack runs as a validation plugin at synth: an unacknowledged finding
fails the synth. Every acknowledgement sits next to the construct it concerns, with a reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.constructs.domain import DomainSettings
from infra.stack import WaymarkStack

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STAGE = "dev"
# A stage names the stack, the API stage and the tags: keep it valid for all three.
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


def project_context() -> dict[str, Any]:
    """The `context` of cdk.json, so an app built in-process (tests) matches `cdk synth`."""
    cdk_json = REPO_ROOT / "cdk.json"
    if not cdk_json.is_file():
        return {}
    context: dict[str, Any] = json.loads(cdk_json.read_text()).get("context", {})
    return context


def stack_name(stage: str) -> str:
    return f"Waymark-{stage}"


def build_app(
    outdir: str | None = None,
    stage: str | None = None,
    *,
    nag: bool = True,
    context: dict[str, Any] | None = None,
) -> tuple[cdk.App, WaymarkStack]:
    """Build (not synthesize) the app; `stage` None reads `-c stage=...`, default "dev".

    `nag=False` leaves the cdk-nag plugin out, for callers that run the checks themselves
    (`AwsSolutionsChecks().validate_scope(stack)` returns the findings instead of raising).
    `context` adds to cdk.json's (tests: what `-c name=value` gives the CLI).
    """
    app = cdk.App(outdir=outdir, context={**project_context(), **(context or {})})
    stage = stage or str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    if not _STAGE.match(stage):
        raise ValueError(f"invalid stage {stage!r}: lowercase letters, digits, '-'; max 20")
    stack = WaymarkStack(
        app,
        stack_name(stage),
        stage=stage,
        domain=DomainSettings.from_context(
            {
                name: app.node.try_get_context(name)
                for name in ("domainName", "certificateArn", "hostedZoneId", "hostedZoneName")
            }
        ),
        description=f"Waymark API, stage {stage}",
    )
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
