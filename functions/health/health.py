"""GET /health: the API and this function answer."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.clock import iso, utcnow
from caisse.observability import observability
from caisse.web import resolver

logger, metrics, tracer = observability("health")
app = resolver(logger)


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "service": "caisse", "time": iso(utcnow())}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
