"""The straightforward way to write the Stripe webhook function, kept only as the benchmark's
yardstick: Tracer created unconditionally, the REST resolver with validation, a pydantic model
built at import, stripe and a pynamodb model imported up front."""

import stripe
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

tracer = Tracer(service="naive-webhook")
logger = Logger(service="naive-webhook")
metrics = Metrics(service="naive-webhook", namespace="Bench")
app = APIGatewayRestResolver(enable_validation=True)


class EventIn(BaseModel):
    id: str
    type: str
    data: dict


class Order(Model):
    class Meta:
        table_name = "orders"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()


@app.post("/webhooks/stripe")
def webhook(event: EventIn) -> dict:
    stripe.WebhookSignature.verify_header(app.current_event.body, "", "", 300)
    return {"received": True}


@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
