"""What each route returns, by name: the return annotations of the handlers' routes.

At run time every one is a JSON object (a dict). The OpenAPI generator (infra/openapi) reads
a route's return annotation by name and documents the response with the object schema of
that name (infra/openapi/objects.py): the code says what it returns, in one place.
`<Name>List` is the reference's list object of `<Name>` objects.
"""

from __future__ import annotations

from typing import Any, TypeAlias

Json: TypeAlias = dict[str, Any]

User: TypeAlias = Json
UserList: TypeAlias = Json
Group: TypeAlias = Json
GroupList: TypeAlias = Json
GroupMembershipList: TypeAlias = Json
Event: TypeAlias = Json
EventList: TypeAlias = Json
AttributeDefinitionList: TypeAlias = Json
EventDefinitionList: TypeAlias = Json
Segment: TypeAlias = Json
SegmentList: TypeAlias = Json
Content: TypeAlias = Json
ContentList: TypeAlias = Json
ContentVersion: TypeAlias = Json
ContentVersionList: TypeAlias = Json
ContentSession: TypeAlias = Json
ContentSessionList: TypeAlias = Json
WebhookSubscription: TypeAlias = Json
# Creation and rotation show the secret, once.
WebhookSubscriptionWithSecret: TypeAlias = Json
WebhookSubscriptionList: TypeAlias = Json
WebhookDelivery: TypeAlias = Json
WebhookDeliveryList: TypeAlias = Json
WebhookRecovery: TypeAlias = Json
# Extensions: bulk work and migration.
BulkUserResults: TypeAlias = Json
ImportJob: TypeAlias = Json
ImportRowErrorList: TypeAlias = Json
ExportJob: TypeAlias = Json
# `{"id", "object", "deleted": true}`.
Deleted: TypeAlias = Json

# Marks an operation Userflow's API lacks, in its route decorator:
# `@app.post("/content", openapi_extensions=EXTENSION)`.
EXTENSION = {"x-waymark-extension": True}
