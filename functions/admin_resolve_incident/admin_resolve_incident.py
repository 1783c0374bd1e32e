"""POST /admin/incidents/{incident_id}/resolve: platform staff refunded money that arrived for no
order (or matched it by hand); the incident leaves the work list with who, when and what they did."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from caisse.observability import observability
from caisse.orders.worklists import resolve_incident
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-resolve-incident")
app = resolver(logger)


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)
    note: str = Field(min_length=1, max_length=1000, description="What was done, e.g. refunded at the provider")


@app.post(
    "/admin/incidents/<incident_id>/resolve",
    summary="Resolve an incident (platform staff)",
    responses={
        200: {"description": "Resolve an incident (platform staff)"},
        **error_responses(
            {
                403: "forbidden: platform staff only",
                404: "not_found: no such incident",
                409: "conflict: resolved meanwhile by someone else",
            }
        ),
    },
)
def resolve(
    incident_id: Annotated[str, Path(max_length=200, pattern=r"^[a-z]+:[A-Za-z0-9._:-]+$")], body: ResolutionIn
) -> dict:
    answer = resolve_incident(incident_id, current_staff(app), body.note)
    logger.info("incident resolved", extra={"incident": incident_id})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
