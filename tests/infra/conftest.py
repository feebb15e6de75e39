"""Synthesize the CDK app once per session; every infra test asserts on that one result.

Synth costs seconds (jsii starts a Node process, every function's asset is bundled), asserting costs
milliseconds, so the expensive part is shared. cdk-nag runs through `validate_scope` so the
findings can be asserted on (the app's plugin would raise on the first one instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.app import build_app
from infra.stack import WaymarkStack


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stage: the stack, its template and where its assets were written."""

    app: cdk.App
    stack: WaymarkStack
    outdir: Path
    template: Template
    template_json: dict[str, Any]
    nag_report: cdk.PolicyValidationPluginReport

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for one CloudFormation type."""
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function_id(self, handler: str) -> str:
        """The logical id of the Lambda function running `handler`."""
        (found,) = [
            logical_id
            for logical_id, function in self.resources("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        ]
        return found

    def logical_id(self, construct: IConstruct) -> str:
        """The logical id of an L2 construct's CloudFormation resource (its default child)."""
        resource = construct.node.default_child
        assert isinstance(resource, cdk.CfnElement), construct.node.path
        return self.stack.resolve(resource.logical_id)  # type: ignore[no-any-return]

    def private_bucket(self, bucket: IConstruct) -> dict[str, Any]:
        """Checks what every bucket of the stack is (infra/constructs/consumers.py
        expiring_bucket): encrypted, public access blocked, kept when the stack goes, SSL
        only. Returns its properties, for what is particular to it."""
        bucket_id = self.logical_id(bucket)
        resource = self.template_json["Resources"][bucket_id]
        properties: dict[str, Any] = resource["Properties"]
        assert properties["BucketEncryption"] == {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        }
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert resource["DeletionPolicy"] == "Retain"
        (policy,) = [
            p["Properties"]["PolicyDocument"]["Statement"]
            for p in self.resources("AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        assert [s["Condition"] for s in policy] == [{"Bool": {"aws:SecureTransport": "false"}}]
        return properties

    def policy_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement of every inline policy attached to a role."""
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]


def synthesize(outdir: Path, stage: str, *, nag_plugin: bool = False) -> Synthesized:
    """Synthesize one stage; with `nag_plugin` exactly as `cdk synth` does (raises on findings)."""
    app, stack = build_app(str(outdir), stage, nag=nag_plugin)
    assembly = app.synth()
    template_json: dict[str, Any] = assembly.get_stack_artifact(stack.artifact_id).template
    return Synthesized(
        app=app,
        stack=stack,
        outdir=outdir,
        # From the synthesized JSON: Template.from_stack would synthesize a second time.
        template=Template.from_json(template_json),
        template_json=template_json,
        nag_report=AwsSolutionsChecks().validate_scope(stack),
    )


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-dev"), "dev")


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Production, with the cdk-nag plugin attached the way `cdk synth` runs it."""
    return synthesize(tmp_path_factory.mktemp("cdk-prod"), "prod", nag_plugin=True)
