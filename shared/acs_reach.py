"""Whether an ACS call may have reached ACS: one pipeline policy, placed after the retry policy
so it sees every try (the pipeline's own retries included), keeps the answer per call."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

_CONTEXT_KEY = "acs_reach"


class Reach:
    """Filled in for one call, over all its tries: `may_have_acted` once any try was sent and
    not answered with a status saying ACS did not act on it (429, 503 or another 4xx)."""

    def __init__(self) -> None:
        self.may_have_acted = False
        self.tries = 0


def did_not_act(status: int) -> bool:
    """ACS's statuses that say the request was not acted on: throttled, unavailable, refused."""
    return status in (429, 503) or 400 <= status < 500


class ReachPolicy(HTTPPolicy[Any, Any]):
    """Records each try's outcome in the call's Reach (passed as the `acs_reach` option, kept in
    the pipeline context so every try of the call finds the same one)."""

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        reach = request.context.get(_CONTEXT_KEY)
        if reach is None:
            reach = request.context.options.pop(_CONTEXT_KEY, None) or Reach()
            request.context[_CONTEXT_KEY] = reach
        reach.tries += 1
        try:
            response = self.next.send(request)
        except ServiceRequestError:
            raise  # azure-core: the request was not sent
        except Exception:
            reach.may_have_acted = True  # sent, and the answer was lost
            raise
        if not did_not_act(response.http_response.status_code):
            reach.may_have_acted = True
        return response
