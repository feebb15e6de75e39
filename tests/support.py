"""Small things every suite shares."""

from __future__ import annotations

from typing import cast

from aws_lambda_powertools.utilities.typing import LambdaContext

# The stream, queue and scheduled consumers never read their context: tests pass none.
NO_CONTEXT = cast(LambdaContext, None)
