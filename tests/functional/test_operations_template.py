"""What template.yaml promises an operator, read from the template itself (the way the AWS
e-commerce sample checks its own with cfn-lint rules): every alarm reaches the alarm topic and has
its runbook; every function its log group with retention and its error and throttle alarms; every
asynchronous path a place where failures are kept, with alarms on it; every table encrypted with
point-in-time recovery; no policy on every resource except where AWS requires it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from caisse.payments.registry import PROVIDERS
from caisse_local import template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = template.load(ROOT / "template.yaml")
RESOURCES = TEMPLATE.resources
RUNBOOK = re.compile(r"Runbook docs/runbooks/([a-z0-9-]+\.md)")


def of_type(kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in RESOURCES.items() if r["Type"] == kind}


ALARMS = of_type("AWS::CloudWatch::Alarm")
FUNCTIONS = of_type("AWS::Serverless::Function")
QUEUES = of_type("AWS::SQS::Queue")
TABLES = of_type("AWS::DynamoDB::Table")


def metric_dimensions(alarm: dict) -> list[tuple[str, str, object]]:
    """(namespace, metric, dimension value) of each metric an alarm reads, plain or in metric math."""
    props = alarm["Properties"]
    if "Metrics" not in props:
        return [(props["Namespace"], props["MetricName"], _dimension(props.get("Dimensions")))]
    found = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append((metric["Namespace"], metric["MetricName"], _dimension(metric.get("Dimensions"))))
    return found


def _dimension(dimensions: list | None) -> object:
    return dimensions[0]["Value"] if dimensions else None


def alarms_on(namespace: str, metric: str) -> list[object]:
    return [
        dimension
        for alarm in ALARMS.values()
        for ns, name, dimension in metric_dimensions(alarm)
        if (ns, name) == (namespace, metric)
    ]


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_every_alarm_tells_the_alarm_topic_and_names_a_runbook_that_exists(logical_id):
    props = ALARMS[logical_id]["Properties"]
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    match = RUNBOOK.search(props["AlarmDescription"])
    assert match, f"{logical_id}: its description names no docs/runbooks/<name>.md"
    runbook = ROOT / "docs" / "runbooks" / match.group(1)
    assert runbook.is_file(), f"{logical_id}: {runbook} does not exist"
    text = runbook.read_text()
    assert "**What it means.**" in text and "**How to look.**" in text and "**What to do.**" in text
    assert "```" in text, f"{runbook.name}: no Logs Insights query"
    assert len(props["AlarmDescription"]) <= 1024  # CloudWatch's limit


def test_the_alarm_topic_emails_the_address_a_deploy_must_give():
    parameter = TEMPLATE.parameters["AlarmEmail"]
    assert "Default" not in parameter and "AllowedPattern" in parameter
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert "Condition" not in subscription
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


@pytest.mark.parametrize("name", ["PublicApiUrl", "ShopUrl", "SenderEmail", "AlarmEmail"])
def test_a_deploy_must_give_the_addresses_customers_and_operators_see(name):
    """No localhost default: CloudFormation refuses a deploy without them, with the constraint's words."""
    parameter = TEMPLATE.parameters[name]
    assert "Default" not in parameter
    assert parameter["AllowedPattern"] and parameter["ConstraintDescription"]
    if name.endswith("Url"):
        pattern = re.compile(parameter["AllowedPattern"])
        assert pattern.match("https://api.shop.example") and not pattern.match("http://127.0.0.1:3000")


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_a_log_group_with_retention_and_error_and_throttle_alarms(logical_id):
    groups = [
        r["Properties"]
        for r in of_type("AWS::Logs::LogGroup").values()
        if r["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    ]
    assert len(groups) == 1, f"{logical_id} has no log group of its own (Lambda would make one kept forever)"
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert {"Ref": logical_id} in alarms_on("AWS/Lambda", "Errors")
    assert {"Ref": logical_id} in alarms_on("AWS/Lambda", "Throttles")


def test_the_api_logs_each_request_as_json_with_its_request_id_and_has_rate_and_latency_alarms():
    api = RESOURCES["CaisseApi"]["Properties"]
    log_format = api["AccessLogSetting"]["Format"]
    fields = json.loads(log_format.replace("\n", " "))
    assert fields["requestId"] == "$context.requestId" and "status" in fields
    group = RESOURCES[api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    api_name = api["Name"]
    assert alarms_on("AWS/ApiGateway", "5XXError") == [api_name]
    assert alarms_on("AWS/ApiGateway", "Latency") == [api_name]


@pytest.mark.parametrize("provider", sorted({*PROVIDERS, "stripe-connect"}))
def test_every_provider_has_payment_failure_rate_and_rejected_webhook_alarms(provider):
    assert provider in alarms_on("Caisse", "PaymentFailed")
    assert provider in alarms_on("Caisse", "PaymentSucceeded")
    assert provider in alarms_on("Caisse", "WebhookVerificationFailed")


@pytest.mark.parametrize(
    "metric",
    ["PaymentFlagged", "PaymentForClosedOrder", "PaymentWithoutOrder", "DisputeOpened", "ReconciliationMismatch"],
)
def test_what_needs_a_person_is_alarmed(metric):
    assert alarms_on("Caisse", metric)


def test_reconciliation_that_did_not_run_is_alarmed():
    [alarm] = [a["Properties"] for a in ALARMS.values() if a["Properties"].get("MetricName") == "ReconciliationChecked"]
    assert alarm["TreatMissingData"] == "breaching" and alarm["Period"] == 86400


def test_failing_emails_and_ses_reputation_are_alarmed_at_ses_review_thresholds():
    assert alarms_on("Caisse", "EmailFailed") == ["send-email"]
    thresholds = {
        a["Properties"]["MetricName"]: a["Properties"]["Threshold"]
        for a in ALARMS.values()
        if a["Properties"].get("Namespace") == "AWS/SES"
    }
    assert thresholds == {"Reputation.BounceRate": 0.05, "Reputation.ComplaintRate": 0.001}


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_every_table_is_encrypted_recoverable_and_alarmed_on_throttles(logical_id):
    props = TABLES[logical_id]["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    throttled = alarms_on("AWS/DynamoDB", "ReadThrottleEvents") + alarms_on("AWS/DynamoDB", "WriteThrottleEvents")
    assert throttled.count({"Ref": logical_id}) == 2


def _failure_destinations() -> dict[str, str]:
    """Every queue that keeps failed work, and what sends it there."""
    found: dict[str, str] = {}
    for lid, queue in QUEUES.items():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            found[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]] = f"{lid} (redrive)"
    for lid, function in FUNCTIONS.items():
        props = function["Properties"]
        on_failure = ((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")
        if on_failure:
            found[on_failure["Destination"]["Fn::GetAtt"][0]] = f"{lid} (async)"
        for name, event in props.get("Events", {}).items():
            event_props = event.get("Properties", {})
            stream_failure = (event_props.get("DestinationConfig") or {}).get("OnFailure")
            if stream_failure:
                found[stream_failure["Destination"]["Fn::GetAtt"][0]] = f"{lid}.{name}"
            dead_letter = event_props.get("DeadLetterConfig")
            if dead_letter:
                found[dead_letter["Arn"]["Fn::GetAtt"][0]] = f"{lid}.{name}"
    return found


@pytest.mark.parametrize("logical_id", sorted(QUEUES))
def test_every_queue_has_a_dead_letter_queue_or_is_one_with_depth_and_age_alarms(logical_id):
    """A failure queue a function works through (it has its own DLQ) is alarmed on its age; one
    nobody reads is alarmed as soon as it holds anything, and on its age."""
    failure_queues = _failure_destinations()
    alarmed = {"Fn::GetAtt": [logical_id, "QueueName"]}
    redrive = QUEUES[logical_id]["Properties"].get("RedrivePolicy")
    if logical_id in failure_queues:
        assert alarmed in alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage")
        if not redrive:
            assert alarmed in alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    else:
        assert QUEUES[logical_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_asynchronous_path_keeps_what_fails(logical_id):
    """Streams send failed batches to a queue, SQS sources have a redrive policy, and what Lambda
    invokes asynchronously (S3, SNS, schedules) goes to an OnFailure destination."""
    props = FUNCTIONS[logical_id]["Properties"]
    for name, event in props.get("Events", {}).items():
        kind, event_props = event["Type"], event.get("Properties", {})
        if kind == "DynamoDB":
            assert event_props["DestinationConfig"]["OnFailure"]["Type"] == "SQS", name
        elif kind == "SQS":
            source = event_props["Queue"]["Fn::GetAtt"][0]
            assert QUEUES[source]["Properties"]["RedrivePolicy"], name
        elif kind in ("S3", "SNS", "ScheduleV2", "Schedule"):
            assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS", name
            if kind == "ScheduleV2":
                assert event_props["DeadLetterConfig"]["Arn"], name
            if kind == "SNS":
                assert event_props["RedrivePolicy"]["deadLetterTargetArn"], name
        else:
            assert kind == "Api", f"{logical_id}.{name}: a {kind} source this test does not know"


# Where AWS requires Resource "*": a key policy is attached to its one key, and "*" there means
# that key (docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
STAR_RESOURCES_ALLOWED = {"PersonalDataKey", "TopicsKey"}


def _statements(value, where: str):
    if isinstance(value, dict):
        if "Effect" in value and ("Resource" in value or "NotResource" in value):
            yield where, value
        for inner in value.values():
            yield from _statements(inner, where)
    elif isinstance(value, list):
        for inner in value:
            yield from _statements(inner, where)


def test_no_policy_grants_on_every_resource_except_key_policies():
    for logical_id, resource in RESOURCES.items():
        for where, statement in _statements(resource.get("Properties", {}), logical_id):
            resources = statement.get("Resource")
            resources = resources if isinstance(resources, list) else [resources]
            if "*" in resources and statement["Effect"] == "Allow":
                assert where in STAR_RESOURCES_ALLOWED, f"{where}: Allow on Resource '*'"


@pytest.mark.parametrize("response", ["DEFAULT_4XX", "DEFAULT_5XX"])
def test_api_gateways_own_answers_carry_the_security_headers_of_every_other_answer(response):
    from caisse.pages import HEADERS

    headers = RESOURCES["CaisseApi"]["Properties"]["GatewayResponses"][response]["ResponseParameters"]["Headers"]
    unquoted = {name: value.strip("'") for name, value in headers.items()}
    assert unquoted == {name: value for name, value in HEADERS.items() if name != "Content-Security-Policy"}


# ---------------------------------------------------------------- the operations dashboard

DASHBOARD = RESOURCES["OperationsDashboard"]["Properties"]
# What AWS publishes by itself, with the dimensions the dashboard reads them by (docs.aws.amazon.com:
# lambda/latest/dg/monitoring-metrics-types.html, AWSSimpleQueueService/latest/SQSDeveloperGuide/
# sqs-available-cloudwatch-metrics.html, amazondynamodb/latest/developerguide/metrics-dimensions.html,
# apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
AWS_METRICS = {
    "AWS/Lambda": ({"Errors", "Throttles", "Duration", "Invocations"}, {"FunctionName"}),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}, {"QueueName"}),
    "AWS/DynamoDB": ({"ReadThrottleEvents", "WriteThrottleEvents"}, {"TableName"}),
    "AWS/ApiGateway": ({"5XXError", "4XXError", "Latency", "Count"}, {"ApiName", "Stage"}),
}
CONTEXT = template.Context(parameter_overrides={"Stage": "prod"})
SEARCH = re.compile(r"""SEARCH\('\{([^}]+)\} MetricName="([\w.]+)"[^']*', '(\w+)', \d+\)""")


def dashboard_body() -> dict:
    """The dashboard's body as CloudFormation hands it to CloudWatch: the !Sub resolved (local names)."""
    return json.loads(TEMPLATE.resolve(DASHBOARD["DashboardBody"], CONTEXT))


def dashboard_metrics() -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric a widget shows, plain or found by SEARCH
    (whose dimensions are the names it groups by, with no value)."""
    found = []
    for widget in dashboard_body()["widgets"]:
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                [(schema, name, _)] = SEARCH.findall(line[0]["expression"])
                namespace, *dimensions = [part.strip() for part in schema.split(",")]
                found.append((namespace, name, dict.fromkeys(dimensions, "")))
            else:
                plain = [part for part in line if not isinstance(part, dict)]
                namespace, name, *pairs = plain
                found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def emitted_metrics() -> dict[str, set[tuple[str, str]]]:
    """What the code emits in the Caisse namespace: metric name (or f-string prefix, ending in
    "*") -> the (dimension, value) it carries: ("service", <function's service>) for a function's
    Metrics, ("provider", "") or ("currency", "") for the per-provider and per-currency counts."""
    emitted: dict[str, set[tuple[str, str]]] = {}
    for path in [*(ROOT / "functions").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        text = path.read_text()
        service = re.search(r'observability\("([\w-]+)"\)', text)
        for name in re.findall(r'add_metric\(\s*name="(\w+)"', text):
            emitted.setdefault(name, set()).add(("service", service[1] if service else "?"))
        for prefix in re.findall(r'add_metric\(\s*name=f"(\w+)\{', text):
            emitted.setdefault(prefix + "*", set()).add(("service", service[1] if service else "?"))
        for kind in ("provider", "currency"):
            for name in re.findall(rf'_per_{kind}\("(\w+)"', text):
                emitted.setdefault(name, set()).add((kind, ""))
    return emitted


def test_the_dashboard_body_is_json_once_substituted_and_every_name_it_substitutes_exists():
    names = set(re.findall(r"\$\{([\w:]+)(?:\.\w+)?\}", DASHBOARD["DashboardBody"]["Fn::Sub"]))
    assert names <= {*RESOURCES, *TEMPLATE.parameters, "AWS::Region", "AWS::StackName"}, names
    body = dashboard_body()
    assert body["widgets"] and all(w["type"] == "metric" for w in body["widgets"])
    assert RESOURCES["OperationsDashboard"]["Properties"]["DashboardName"] == {
        "Fn::Sub": "${AWS::StackName}-operations"
    }
    assert "DashboardUrl" in TEMPLATE.data["Outputs"]


def test_the_dashboard_names_only_metrics_the_code_emits_or_aws_publishes():
    emitted = emitted_metrics()
    providers = {*PROVIDERS, "stripe-connect"}
    for namespace, name, dimensions in dashboard_metrics():
        if namespace != "Caisse":
            names, dimension_names = AWS_METRICS[namespace]
            assert name in names and set(dimensions) == dimension_names, (namespace, name, dimensions)
            continue
        [(dimension, value)] = dimensions.items()  # each Caisse count carries one dimension
        family = [
            prefix for prefix in emitted if prefix.endswith("*") and re.fullmatch(rf"{prefix[:-1]}[A-Z][a-z]+", name)
        ]
        carried = emitted.get(name, set()) | {pair for prefix in family for pair in emitted[prefix]}
        if dimension == "service":
            assert ("service", value) in carried, f"no function of service {value!r} emits {name}"
        else:
            assert (dimension, "") in carried, f"nothing emits {name} per {dimension}"
            assert dimension != "provider" or value in providers


def test_the_dashboard_shows_what_on_call_needs():
    shown = {(namespace, name, tuple(sorted(d.items()))) for namespace, name, d in dashboard_metrics()}
    names = {name for _, name, _ in shown}
    assert {"OrdersPaid", "Revenue", "CheckoutStarted", "LowStock"} <= names  # orders and revenue per hour
    for provider in sorted({*PROVIDERS, "stripe-connect"}):
        for name in ("PaymentSucceeded", "PaymentFailed", "WebhookVerificationFailed"):
            assert ("Caisse", name, (("provider", provider),)) in shown
    assert {"EmailSent", "EmailFailed", "EmailSuppressedBounce", "EmailSuppressedComplaint"} <= names
    for queue in QUEUES:  # every queue's depth and age
        name = TEMPLATE.resolve({"Fn::GetAtt": [queue, "QueueName"]}, CONTEXT)
        for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
            assert ("AWS/SQS", metric, (("QueueName", name),)) in shown, (queue, metric)
    for table in TABLES:  # every table's throttles
        name = TEMPLATE.resolve({"Ref": table}, CONTEXT)
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            assert ("AWS/DynamoDB", metric, (("TableName", name),)) in shown, (table, metric)
    webhooks = [f for f in FUNCTIONS if "/webhooks/" in json.dumps(FUNCTIONS[f]["Properties"].get("Events", {}))]
    assert len(webhooks) == len({*PROVIDERS, "stripe-connect"})
    for function in webhooks:  # webhook latency
        name = TEMPLATE.resolve({"Ref": function}, CONTEXT)
        assert ("AWS/Lambda", "Duration", (("FunctionName", name),)) in shown, function
    assert ("AWS/Lambda", "Errors", (("FunctionName", ""),)) in shown  # every function, by SEARCH
