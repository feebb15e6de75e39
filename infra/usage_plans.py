"""Per-environment rate limits in AWS: API Gateway usage plans, managed by the CLI.

Each environment has one usage-plan API key, `waymark-<stage>-<environment id>`, whose value
the authorizer returns as `usageIdentifierKey` (shared/domain/rate_limits.py). Environments
with the same limits share a plan (`waymark-<stage>-<rate>rps-<burst>burst-<quota>`): a plan's
throttle and quota apply to each of its keys on its own, so sharing changes nothing for the
tenants and keeps far below API Gateway's 300 plans a region (keys: 10,000 a region).

Usage plans and keys cost nothing; a request API Gateway throttles never reaches the
authorizer's or a function's bill. Changes reach API Gateway's enforcement within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.domain.rate_limits import RateLimits, usage_key


@dataclass(frozen=True)
class StageApi:
    """The deployed API one stage's usage plans apply to."""

    rest_api_id: str
    stage: str

    @property
    def prefix(self) -> str:
        return f"waymark-{self.stage}"


class UsagePlans:
    """The stage's usage plans and keys, through the API Gateway API (boto3 client)."""

    def __init__(self, client: Any, api: StageApi) -> None:
        self.client = client
        self.api = api

    def assign(self, environment_id: str, limits: RateLimits) -> str:
        """Puts the environment's key (created if missing) in the plan for `limits`, and in
        no other plan of this stage. Returns the plan's id."""
        key_id = self.ensure_key(environment_id)
        plan_id = self.ensure_plan(limits)
        found = False
        for plan in self._pages("get_usage_plans", keyId=key_id):
            if plan["id"] == plan_id:
                found = True
            elif str(plan.get("name", "")).startswith(f"{self.api.prefix}-"):
                self.client.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key_id)
        if not found:
            self.client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        return plan_id

    def ensure_key(self, environment_id: str) -> str:
        name = self.key_name(environment_id)
        for key in self._pages("get_api_keys", nameQuery=name):
            if key.get("name") == name:
                return str(key["id"])
        created = self.client.create_api_key(
            name=name,
            description=f"Waymark {self.api.stage}: usage plan key of {environment_id}",
            enabled=True,
            value=usage_key(environment_id),
        )
        return str(created["id"])

    def ensure_plan(self, limits: RateLimits) -> str:
        name = self.plan_name(limits)
        for plan in self._pages("get_usage_plans"):
            if plan.get("name") == name:
                return str(plan["id"])
        arguments: dict[str, Any] = {
            "name": name,
            "description": f"Waymark {self.api.stage}: {limits.describe()}",
            "apiStages": [{"apiId": self.api.rest_api_id, "stage": self.api.stage}],
            "throttle": {"rateLimit": limits.rate, "burstLimit": limits.burst},
        }
        if limits.daily_quota is not None:
            arguments["quota"] = {"limit": limits.daily_quota, "offset": 0, "period": "DAY"}
        return str(self.client.create_usage_plan(**arguments)["id"])

    def flush_authorizer_cache(self) -> None:
        """Forget every cached authorizer answer: a revoked key stops working now."""
        self.client.flush_stage_authorizers_cache(
            restApiId=self.api.rest_api_id, stageName=self.api.stage
        )

    def key_name(self, environment_id: str) -> str:
        return f"{self.api.prefix}-{environment_id}"

    def plan_name(self, limits: RateLimits) -> str:
        quota = f"{limits.daily_quota}perday" if limits.daily_quota else "noquota"
        return f"{self.api.prefix}-{limits.rate:g}rps-{limits.burst}burst-{quota}"

    def _pages(self, operation: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        position: str | None = None
        while True:
            page = getattr(self.client, operation)(
                **arguments, limit=500, **({"position": position} if position else {})
            )
            yield from page.get("items", [])
            position = page.get("position")
            if not position:
                return
