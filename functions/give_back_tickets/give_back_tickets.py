"""POST /orders/{order_id}/ticket-returns: the customer gives back their tickets for an event that
changed after they bought them, before it starts, behind the order token; refunded in full."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from caisse.observability import observability
from caisse.orders import tokens
from caisse.payments.refunds import give_back_tickets
from caisse.web import Header, Path, Response, error_responses, resolver

logger, metrics, tracer = observability("give-back-tickets")
app = resolver(logger)


class TicketReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    event_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="The event whose tickets go back: one of the order's `ticket_returns`",
    )


@app.post(
    "/orders/<order_id>/ticket-returns",
    summary="Give back tickets for an event that changed (Authorization: Bearer <order_token>)",
    responses={
        201: {"description": "The refund, made, on its way, or owed by the shop (mobile money)"},
        **error_responses(
            {
                401: "unauthorized: no order token, or not this order's",
                404: "not_found: no such order",
                409: "nothing_to_give_back: no valid ticket for that event changed after it was bought, "
                "or the event has started; payment_disputed",
                503: "provider_unavailable: the provider did not answer the refund; try again",
            }
        ),
    },
)
def give_back(
    order_id: Annotated[str, Path(max_length=36)],
    ticket_return: TicketReturnIn,
    authorization: Annotated[str | None, Header(alias="Authorization")] = None,
) -> Response[dict]:
    tokens.check(order_id, authorization)
    answer = give_back_tickets(order_id, ticket_return.event_id)
    logger.info(
        "tickets given back",
        extra={"order_id": order_id, "refund_id": answer["refund_id"], "status": answer["status"]},
    )
    if not answer["replayed"]:
        metrics.add_metric(name="TicketsGivenBack", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
