"""Settings every test tier shares: fake AWS credentials and the names the domain package reads at
import (so nothing can reach a real AWS account), and no metrics flushed to a real namespace."""

import os

_DEFAULTS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "CATALOG_TABLE": "test-catalog",
    "ORDERS_TABLE": "test-orders",
    "WEBHOOK_EVENTS_TABLE": "test-webhook-events",
    "PARAMETER_PREFIX": "/caisse/test",
    "SHOP_URL": "http://127.0.0.1:9/shop",
    "POWERTOOLS_METRICS_NAMESPACE": "CaisseTest",
    "POWERTOOLS_SERVICE_NAME": "caisse-test",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
for _name, _value in _DEFAULTS.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
