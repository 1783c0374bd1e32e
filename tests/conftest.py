"""Settings every test tier shares: fake AWS credentials and the names the domain package reads at
import (so nothing can reach a real AWS account), and no metrics flushed to a real namespace."""

import os

_DEFAULTS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # What template.yaml resolves to for the functional tests' stack (tests/functional checks it).
    "CATALOG_TABLE": "caisse-test-CatalogTable",
    "ORDERS_TABLE": "caisse-test-OrdersTable",
    "WEBHOOK_EVENTS_TABLE": "caisse-test-WebhookEventsTable",
    "MEDIA_TABLE": "caisse-test-MediaTable",
    "UPLOADS_BUCKET": "caisse-test-uploads-123456789012-us-east-1",
    "RENDITIONS_BUCKET": "caisse-test-renditionsbucket",
    "ORIGINALS_BUCKET": "caisse-test-originalsbucket",
    "NOTIFICATIONS_TABLE": "caisse-test-NotificationsTable",
    "NOTIFICATIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/caisse-test-NotificationsQueue.fifo",
    "DELIVERABLES_BUCKET": "caisse-test-deliverablesbucket",
    "PARAMETER_PREFIX": "/caisse/dev",
    "SHOP_URL": "http://127.0.0.1:9/shop",
    "POWERTOOLS_METRICS_NAMESPACE": "CaisseTest",
    "POWERTOOLS_SERVICE_NAME": "caisse-test",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
for _name, _value in _DEFAULTS.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
