"""TicketHoldersQueue → an event's new details carried to the orders holding its tickets, one page
of tickets per message, the next page queued (caisse.orders.ticket_holders); for a cancelled event
each holder is refunded and checkouts still open for it are closed
(caisse.payments.cancelled_events). Each order's change emails its holder through the orders
stream. A message that fails comes back after the queue's visibility timeout; what it did already
is not done twice."""

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from caisse.observability import observability
from caisse.orders import ticket_holders
from caisse.payments import cancelled_events

logger, metrics, tracer = observability("tell-ticket-holders")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    staff = ticket_holders.staff_of(message)

    def refund(order_id: str, event: dict) -> None:
        outcome = cancelled_events.refund_holder(order_id, event, staff)
        if outcome is not None:
            logger.info("holder refunded", extra={"order_id": order_id, "outcome": outcome})
            metrics.add_metric(name="CancelledEventRefund", unit=MetricUnit.Count, value=1)

    following = ticket_holders.tell(message, holder=refund, waiting=cancelled_events.close_waiting)
    if following is not None:
        ticket_holders.queue(following)
    logger.info(
        "ticket holders told",
        extra={
            "merchant": message["merchant"],
            "event": message["event"],
            "revision": message["revision"],
            "done": following is None,
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
