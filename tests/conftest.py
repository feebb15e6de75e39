"""Every suite: the environment the stack gives every function, where tests import handlers.

Powertools reads the metrics namespace when a handler module creates its Metrics, at import
(collection time here), from POWERTOOLS_METRICS_NAMESPACE: the stack sets it on every
function (shared/settings.py), so the tests do too, before any handler is imported.
"""

from __future__ import annotations

import os

from shared.settings import METRICS_NAMESPACE, Variables

os.environ.setdefault(Variables.METRICS_NAMESPACE, METRICS_NAMESPACE)
