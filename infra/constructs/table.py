"""The single DynamoDB table, shaped by `shared/store/schema.py` so CDK and local stack agree.

Grants live here too: the table knows its indexes, so a caller passes a `TableAccess`
(infra/constructs/access.py) instead of listing ARNs itself.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.access import TableAccess
from shared.store import schema


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class TableConstruct(Construct):
    """On-demand table with streams (webhooks, cascades), PITR, TTL; protected in prod."""

    def __init__(self, scope: Construct, construct_id: str, *, production: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(schema.PARTITION_KEY),
            sort_key=_string(schema.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            deletion_protection=production,
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY,
        )
        for index_name, (pk, sk) in schema.GLOBAL_INDEXES.items():
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=_string(pk),
                sort_key=_string(sk),
                projection_type=dynamodb.ProjectionType.ALL,
            )

    @property
    def index_arns(self) -> list[str]:
        """One ARN per index, named: narrower than `<table>/index/*` and no IAM wildcard."""
        return [f"{self.table.table_arn}/index/{name}" for name in schema.GLOBAL_INDEXES]

    def grant(self, grantee: iam.IGrantable, access: TableAccess) -> None:
        """Exactly `access`: item actions on the table ARN, index actions on each index ARN."""
        if access.table_actions:
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=list(access.table_actions),
                resource_arns=[self.table.table_arn],
            )
        if access.index_actions:
            iam.Grant.add_to_principal(
                grantee=grantee, actions=list(access.index_actions), resource_arns=self.index_arns
            )
