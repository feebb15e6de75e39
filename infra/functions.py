"""Every function the stack deploys: the API functions and the authorizer (infra/routes.py),
and the stream, queue and schedule consumers each construct defines. Tests and `make bench`
go through this one list (tests/infra pins it against the synthesized template)."""

from __future__ import annotations

from infra.constructs.cascade import CASCADE
from infra.constructs.transfers import TRANSFER_JOBS
from infra.constructs.webhooks import WEBHOOK_DELIVERY, WEBHOOK_DISPATCH, WEBHOOK_PROBE
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute

DEPLOYED_FUNCTIONS: tuple[FunctionRoute, ...] = (
    *API_FUNCTIONS,
    AUTHORIZER,
    CASCADE,
    WEBHOOK_DISPATCH,
    WEBHOOK_DELIVERY,
    WEBHOOK_PROBE,
    TRANSFER_JOBS,
)
