"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized stack.

Findings are fixed where practical; what stays is acknowledged on the construct concerned,
with a reason. This file keeps the list of acknowledged rules so a new one is a visible change.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from cfnlint.api import ManualArgs, lint

from tests.infra.conftest import Synthesized

# Rule id -> why it may be acknowledged at all (the per-construct reason is in infra/).
ALLOWED_ACKNOWLEDGEMENTS = {
    "AwsSolutions-IAM5[Resource::*]": "ListStreams has no resource-level permissions",
    "AwsSolutions-L1": "runtime pinned to the Powertools layer's Python version",
    "AwsSolutions-APIG3": "WAF is a per-deployment cost decision",
    "AwsSolutions-COG4": "API keys via the Lambda authorizer, no Cognito users",
    "AwsSolutions-SQS3": "the queue is itself a dead-letter destination (mapping or redrive)",
    "AwsSolutions-S1": (
        "the webhook bodies and transfers buckets are read and written only through the stack's "
        "roles"
    ),
    (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]"
    ): "API Gateway's account logging role",
}
MIN_REASON_LENGTH = 40


def _acknowledgements(synthesized: Synthesized) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) for every acknowledgement in the stack."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for construct in synthesized.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                for rule, reason in dict(entry.data).items():
                    found.append((construct.node.path, rule.split("::", 1)[-1], str(reason)))
    return found


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(dev: Synthesized) -> None:
    findings = [
        f"{violation.rule_name}: {violation.description} "
        f"{[resource.construct_path for resource in violation.violating_resources]}"
        for violation in dev.nag_report.violations
    ]
    assert findings == []
    assert dev.nag_report.success


def test_every_acknowledgement_is_expected_and_explained(dev: Synthesized) -> None:
    acknowledgements = _acknowledgements(dev)
    assert acknowledgements, "expected the documented acknowledgements"
    bodies = f"AwsSolutions-IAM5[Resource::<{dev.logical_id(dev.stack.webhooks.bodies)}.Arn>/"
    files = f"AwsSolutions-IAM5[Resource::<{dev.logical_id(dev.stack.transfers.bucket)}.Arn>/"
    for path, rule, reason in acknowledgements:
        if rule.startswith(bodies):
            # Object keys are notification ids: one prefix of the stack's own bucket.
            assert rule == f"{bodies}notifications/*]", rule
            continue
        if rule.startswith(files):
            # Object keys hold job ids: the imports or the exports prefix of the stack's bucket.
            assert rule in (f"{files}imports/*]", f"{files}exports/*]"), rule
            continue
        assert rule in ALLOWED_ACKNOWLEDGEMENTS, f"new acknowledgement {rule} on {path}"
        assert len(reason.strip()) >= MIN_REASON_LENGTH, f"{rule} on {path}: reason too short"


def test_prod_synthesizes_with_the_nag_plugin_attached(prod: Synthesized) -> None:
    # The fixture synthesized with Validations.of(app).add_plugins(AwsSolutionsChecks(app)):
    # reaching this line means the plugin found nothing unacknowledged.
    assert prod.nag_report.success
    report = json.loads((prod.outdir / "validation-report.json").read_text())
    nag_reports = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert all(r["conclusion"] == "success" for r in nag_reports)


def test_cfn_lint_finds_nothing(dev: Synthesized) -> None:
    # W3005 (a DependsOn already implied by a GetAtt) is how the CDK writes Lambda roles.
    matches = lint(
        json.dumps(dev.template_json),
        config=ManualArgs(ignore_checks=["W3005"], regions=["us-east-1", "eu-west-1"]),
    )
    assert [str(match) for match in matches] == []


def test_cfn_lint_would_report_findings(dev: Synthesized) -> None:
    """Guards the test above: with nothing ignored, the known W3005 warnings come back."""
    matches = lint(json.dumps(dev.template_json), config=ManualArgs(regions=["us-east-1"]))
    assert {match.rule.id for match in matches} == {"W3005"}
