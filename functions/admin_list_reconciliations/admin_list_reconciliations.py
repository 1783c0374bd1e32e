"""GET /admin/reconciliations: the last reconciliation runs and what each found (payments settled
late, refunds recorded, mismatches, providers that did not answer), newest first."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.observability import observability
from caisse.payments.runs import MAX_RUNS, recent
from caisse.web import Query, current_staff, resolver

logger, metrics, tracer = observability("admin-list-reconciliations")
app = resolver(logger)


@app.get("/admin/reconciliations", summary="The last reconciliation runs and their findings")
def runs(limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 10) -> dict:
    return recent(current_staff(app), limit=limit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
