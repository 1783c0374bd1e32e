"""The local emulation of Lambda, API Gateway and AWS that the local stack is built on.

Everything here runs against a tiny template of its own (fixtures/local_runtime), a moto server
started on a free loopback port, and in-process function pools.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import httpx
import jwt
import pytest

from caisse_local import authorizer, aws, runtime
from caisse_local import template as tpl
from caisse_local.apigateway import MAX_BODY_BYTES, ApiGateway
from caisse_local.server import BackgroundServer, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "local_runtime"
PYTHON = sys.executable


@pytest.fixture(scope="module")
def template() -> tpl.Template:
    return tpl.load(FIXTURES / "template.yaml")


@pytest.fixture
def ctx() -> tpl.Context:
    return tpl.Context()


@pytest.fixture(scope="module")
def moto_url():
    server = aws.serve("127.0.0.1", 0)
    try:
        yield server.url
    finally:
        server.stop()


# --------------------------------------------------------------------------- template


INTRINSICS = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Size: {Type: Number, Default: 3}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Limits:
    dev: {max: 10}
    prod: {max: 1000}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Either: !Or [!Condition IsProd, !Condition IsDev]
  Both: !And [!Condition IsProd, !Condition IsDev]
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {}}
  Values:
    Type: Custom::Values
    Properties:
      ref_param: !Ref Stage
      ref_number: !Ref Size
      ref_list: !Ref Zones
      pseudo: !Sub "${AWS::Region}/${AWS::AccountId}/${AWS::StackName}/${AWS::Partition}/${AWS::URLSuffix}"
      getatt_dotted: !GetAtt Table.Arn
      getatt_list: !GetAtt [Table, Arn]
      long_getatt: {"Fn::GetAtt": [Table, Arn]}
      long_ref: {Ref: Table}
      sub_string: !Sub "/caisse/${Stage}/x-${Table}-${Table.Arn}-${!Literal}"
      sub_vars: !Sub ["${Name}-${Stage}", {Name: !Ref Size}]
      long_sub: {"Fn::Sub": "${Stage}!"}
      join: !Join ["-", [a, !Ref Stage, 7]]
      if_true: !If [IsDev, yes-dev, no-dev]
      if_false: !If [IsProd, yes-prod, no-prod]
      if_novalue: !If [IsProd, gone, !Ref "AWS::NoValue"]
      list_novalue: [keep, !If [IsProd, x, !Ref "AWS::NoValue"]]
      either: !If [Either, 1, 0]
      both: !If [Both, 1, 0]
      select: !Select [1, !Split [",", "x,y,z"]]
      select_list: !Select [2, !Ref Zones]
      find_in_map: !FindInMap [Limits, !Ref Stage, max]
      base64: !Base64 "hi there"
      equals_number: !Equals [!Ref Size, 3]
"""


def test_resolves_short_and_long_form_intrinsics(ctx):
    t = tpl.loads(INTRINSICS)
    values = t.resolve(t.resources["Values"]["Properties"], ctx)
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/caisse-local-Table"
    assert values == {
        "ref_param": "dev",
        "ref_number": "3",
        "ref_list": ["a", "b", "c"],
        "pseudo": "us-east-1/123456789012/caisse-local/aws/amazonaws.com",
        "getatt_dotted": table_arn,
        "getatt_list": table_arn,
        "long_getatt": table_arn,
        "long_ref": "caisse-local-Table",
        "sub_string": f"/caisse/dev/x-caisse-local-Table-{table_arn}-${{Literal}}",
        "sub_vars": "3-dev",
        "long_sub": "dev!",
        "join": "a-dev-7",
        "if_true": "yes-dev",
        "if_false": "no-prod",
        "list_novalue": ["keep"],
        "either": 1,
        "both": 0,
        "select": "y",
        "select_list": "c",
        "find_in_map": 10,
        "base64": base64.b64encode(b"hi there").decode(),
        "equals_number": True,
    }
    prod = t.resolve(t.resources["Values"]["Properties"], tpl.Context(parameter_overrides={"Stage": "prod"}))
    assert (prod["if_novalue"], prod["find_in_map"], prod["list_novalue"]) == ("gone", 1000, ["keep", "x"])
    with pytest.raises(tpl.TemplateError, match="AllowedValues|not one of"):
        t.resolve({"Ref": "Stage"}, tpl.Context(parameter_overrides={"Stage": "qa"}))
    with pytest.raises(tpl.TemplateError, match="unknown reference"):
        t.resolve({"Fn::Sub": "${Nope}"}, ctx)


PHYSICAL = """
Resources:
  Orders: {Type: AWS::DynamoDB::Table, Properties: {}}
  Named: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Sub "${AWS::StackName}-named"}}
  Jobs: {Type: AWS::SQS::Queue}
  Steps: {Type: AWS::SQS::Queue, Properties: {FifoQueue: true}}
  Events: {Type: AWS::SNS::Topic}
  Uploads: {Type: AWS::S3::Bucket}
  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn, Handler: m.h}}
  Pool: {Type: AWS::Cognito::UserPool}
  Client: {Type: AWS::Cognito::UserPoolClient, Properties: {UserPoolId: !Ref Pool}}
  Shared: {Type: AWS::IAM::ManagedPolicy, Properties: {PolicyDocument: {Statement: []}}}
"""


def test_local_physical_ids_and_arns(ctx):
    t = tpl.loads(PHYSICAL)

    def r(value):
        return t.resolve(value, ctx)

    assert r({"Ref": "Orders"}) == "caisse-local-Orders"
    assert r({"Ref": "Named"}) == "caisse-local-named"
    assert r({"Ref": "Jobs"}) == "https://sqs.us-east-1.amazonaws.com/123456789012/caisse-local-Jobs"
    assert r({"Fn::GetAtt": ["Jobs", "Arn"]}) == "arn:aws:sqs:us-east-1:123456789012:caisse-local-Jobs"
    assert r({"Fn::GetAtt": ["Steps", "QueueName"]}) == "caisse-local-Steps.fifo"
    assert r({"Ref": "Events"}) == "arn:aws:sns:us-east-1:123456789012:caisse-local-Events"
    assert r({"Ref": "Uploads"}) == "caisse-local-uploads"
    assert r({"Fn::GetAtt": ["Uploads", "Arn"]}) == "arn:aws:s3:::caisse-local-uploads"
    assert r({"Ref": "Fn"}) == "caisse-local-Fn"
    assert r({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:caisse-local-Fn"
    assert r({"Ref": "Pool"}) == "us-east-1_caisselocal"
    assert r({"Fn::GetAtt": ["Pool", "Arn"]}) == (
        "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_caisselocal"
    )
    assert r({"Ref": "Client"}) == "caisselocal-client"
    assert r({"Fn::GetAtt": ["FnRole", "Arn"]}) == "arn:aws:iam::123456789012:role/caisse-local-FnRole"
    assert r({"Ref": "Shared"}) == "arn:aws:iam::123456789012:policy/caisse-local-Shared"  # a policy's Ref is its ARN
    with pytest.raises(tpl.Unresolved, match="provision"):
        r({"Fn::GetAtt": ["Orders", "StreamArn"]})
    ctx.record("Orders", StreamArn="arn:stream")
    assert r({"Fn::GetAtt": ["Orders", "StreamArn"]}) == "arn:stream"


def test_functions_merge_globals_and_resolve_environment(template, ctx):
    functions = {f.logical_id: f for f in template.functions(ctx)}
    assert set(functions) == {"EchoFunction", "BoomFunction", "ProbeFunction", "ResolverFunction"}
    echo = functions["EchoFunction"]
    assert echo.code_uri == (FIXTURES / "functions" / "echo").resolve()
    assert (echo.handler, echo.module, echo.attribute) == ("lr_echo.handler", "lr_echo", "handler")
    assert (echo.runtime, echo.memory_size, echo.timeout) == ("python3.13", 256, 3.0)
    assert echo.name == "caisse-local-EchoFunction"
    assert echo.environment == {
        "STAGE": "test",
        "ORDERS_TABLE": "caisse-local-OrdersTable",
        "JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/caisse-local-JobsQueue",
        "SHARED": "from-globals",
        "DEBUG": "true",
        "GREETING": "hello, us-east-1",
    }
    assert functions["BoomFunction"].memory_size == 128
    assert functions["BoomFunction"].timeout == 5.0
    assert functions["ProbeFunction"].environment["SHARED"] == "from-probe"
    assert len(echo.properties["Layers"]) == 1
    assert [(e.name, e.type) for e in echo.events][-1] == ("Changes", "DynamoDB")
    overridden = tpl.Context(parameter_overrides={"Stage": "prod"})
    assert template.function("EchoFunction", overridden).environment["DEBUG"] == "false"


def test_api_routes(template, ctx):
    routes = {(r.method, r.path): r for r in template.api_routes(ctx)}
    assert set(routes) == {
        ("GET", "/items/{item_id}"),
        ("GET", "/items/special"),
        ("ANY", "/files/{proxy+}"),
        ("POST", "/upload"),
        ("GET", "/admin/whoami"),
        ("GET", "/boom"),
        ("GET", "/malformed"),
    }
    assert routes[("GET", "/admin/whoami")].authorizer == "StaffAuthorizer"  # the Api's DefaultAuthorizer
    assert routes[("GET", "/items/{item_id}")].authorizer is None  # Authorizer: NONE
    route = routes[("GET", "/boom")]
    assert (route.function, route.stage, route.api) == ("BoomFunction", "test", "TestApi")
    assert route.cors is not None and route.cors.allow_origin == "https://shop.example.test"
    assert template.outputs(ctx)["ApiUrl"] == f"https://{route.api_id}.execute-api.us-east-1.amazonaws.com/test"


def test_apply_environment_refuses_conflicting_values(template, ctx):
    functions = {f.logical_id: f for f in template.functions(ctx)}
    with mock.patch.dict(os.environ):
        applied = runtime.apply_environment([functions["EchoFunction"], functions["BoomFunction"]])
        assert os.environ["ORDERS_TABLE"] == applied["ORDERS_TABLE"] == "caisse-local-OrdersTable"
        with pytest.raises(runtime.EnvironmentConflict, match="SHARED"):
            runtime.apply_environment(functions.values())


# --------------------------------------------------------------------------- emulated AWS


def test_provision_creates_resources_idempotently(template, moto_url):
    ctx = tpl.Context(stack_name="prov-test")
    created = aws.provision(template, ctx, moto_url)
    assert aws.provision(template, ctx, moto_url).keys() == created.keys()  # second run is a no-op

    ddb = aws.client("dynamodb", moto_url)
    table = ddb.describe_table(TableName="prov-test-OrdersTable")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by_merchant"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName="prov-test-OrdersTable")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = ddb.describe_continuous_backups(TableName="prov-test-OrdersTable")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    assert created["OrdersTable"]["StreamArn"] == table["LatestStreamArn"]
    changes = next(e for e in template.function("EchoFunction", ctx).events if e.name == "Changes")
    assert changes.properties["Stream"] == table["LatestStreamArn"]

    sqs = aws.client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName="prov-test-JobsQueue")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:prov-test-JobsDeadLetterQueue",
        "maxReceiveCount": 3,
    }
    assert attributes["VisibilityTimeout"] == "30"
    assert "StaffPool" not in created and "TestApi" not in created


def test_dynamodb_requests_are_serialised(moto_url):
    """8 threads, 400 conditional decrements of a counter at 200: exactly 200 may succeed."""
    ddb = aws.client("dynamodb", moto_url)
    ddb.create_table(
        TableName="lock-test",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="lock-test", Item={"pk": {"S": "stock"}, "left": {"N": "200"}})
    local = threading.local()

    def decrement(_: int) -> bool:
        if not hasattr(local, "client"):
            local.client = aws.client("dynamodb", moto_url)
        try:
            local.client.update_item(
                TableName="lock-test",
                Key={"pk": {"S": "stock"}},
                UpdateExpression="SET #left = #left - :one",
                ConditionExpression="#left > :zero",
                ExpressionAttributeNames={"#left": "left"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
            )
            return True
        except local.client.exceptions.ConditionalCheckFailedException:
            return False

    # moto's race needs a thread switch inside one request; a short switch interval makes it
    # show up reliably (without the lock this gives ~210 successes), so the test can fail.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(8) as pool:
            successes = sum(pool.map(decrement, range(400)))
    finally:
        sys.setswitchinterval(previous)
    left = ddb.get_item(TableName="lock-test", Key={"pk": {"S": "stock"}})["Item"]["left"]["N"]
    assert (successes, left) == (200, "0")


def test_a_cancelled_transaction_does_not_silence_the_stream(moto_url):
    """moto swaps in a copy of the table on rollback; open shard iterators must still see what
    comes after, and nothing of the cancelled transaction."""
    ddb = aws.client("dynamodb", moto_url)
    streams = aws.client("dynamodbstreams", moto_url)
    ddb.create_table(
        TableName="stream-test",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = ddb.describe_table(TableName="stream-test")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    ddb.put_item(TableName="stream-test", Item={"pk": {"S": "a"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "stream-test", "Item": {"pk": {"S": "b"}}}},
                {
                    "Put": {
                        "TableName": "stream-test",
                        "Item": {"pk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    ddb.put_item(TableName="stream-test", Item={"pk": {"S": "c"}})
    seen = []
    for _ in range(3):
        answer = streams.get_records(ShardIterator=iterator)
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in answer["Records"]]
        iterator = answer["NextShardIterator"]
    assert seen == ["a", "c"]
    assert ddb.get_item(TableName="stream-test", Key={"pk": {"S": "b"}}).get("Item") is None


def _table(ddb, name: str, stream: bool = True) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}),
    )


def _records(streams, table_arn: str) -> list[tuple[str, str, str]]:
    """(sequence number, event, pk#sk) of every record a TRIM_HORIZON reader gets."""
    shard = streams.describe_stream(StreamArn=table_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=table_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    iterator, out = iterator["ShardIterator"], []
    while iterator:
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not answer["Records"]:
            break
        for record in answer["Records"]:
            keys = record["dynamodb"]["Keys"]
            out.append((record["dynamodb"]["SequenceNumber"], record["eventName"], keys["pk"]["S"] + keys["sk"]["S"]))
        iterator = answer.get("NextShardIterator")
    return out


def test_a_cancelled_transaction_restores_exactly_the_items_it_touched_and_the_stream(moto_url):
    """Updated, created and deleted items, in two tables, come back as they were; the others are
    untouched; the stream holds none of the cancelled writes and goes on without a gap."""
    ddb = aws.client("dynamodb", moto_url)
    streams = aws.client("dynamodbstreams", moto_url)
    _table(ddb, "rollback-a")
    _table(ddb, "rollback-b", stream=False)
    arn = ddb.describe_table(TableName="rollback-a")["Table"]["LatestStreamArn"]
    for pk, sk in (("a", "1"), ("a", "2"), ("b", "1"), ("z", "9")):
        ddb.put_item(
            TableName="rollback-a",
            Item={"pk": {"S": pk}, "sk": {"S": sk}, "v": {"N": "1"}, "tags": {"SS": ["x", "y"]}, "m": {"M": {}}},
        )
    ddb.put_item(TableName="rollback-b", Item={"pk": {"S": "k"}, "sk": {"S": "1"}, "n": {"N": "5"}})

    def everything() -> list:
        items = ddb.scan(TableName="rollback-a")["Items"] + ddb.scan(TableName="rollback-b")["Items"]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))

    before, records_before = everything(), _records(streams, arn)
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "rollback-a",
                        "Key": key,
                        "UpdateExpression": "SET v = :v, m.deep = :v ADD tags :t REMOVE absent_attr",
                        "ExpressionAttributeValues": {":v": {"N": "99"}, ":t": {"SS": ["new"]}},
                    }
                },
                {"Put": {"TableName": "rollback-a", "Item": {"pk": {"S": "c"}, "sk": {"S": "1"}}}},
                {"Delete": {"TableName": "rollback-a", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                {
                    "Update": {
                        "TableName": "rollback-b",
                        "Key": {"pk": {"S": "k"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "rollback-a",
                        "Key": {"pk": {"S": "a"}, "sk": {"S": "2"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert everything() == before
    assert _records(streams, arn) == records_before

    ddb.put_item(TableName="rollback-a", Item={"pk": {"S": "d"}, "sk": {"S": "1"}})
    after = _records(streams, arn)
    assert after[:-1] == records_before
    assert after[-1][1:] == ("INSERT", "d1")
    assert int(after[-1][0]) == int(records_before[-1][0]) + 1


def test_streams_keep_their_newest_records_and_moto_lets_go_of_old_objects(moto_url, monkeypatch):
    """A shard keeps its newest STREAM_RECORDS_KEPT records (a reader from TRIM_HORIZON starts at
    the oldest kept, sequence numbers unchanged), and transactions leave no copies behind."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    monkeypatch.setattr(aws, "STREAM_RECORDS_KEPT", 20)
    ddb = aws.client("dynamodb", moto_url)
    _table(ddb, "trim-test")
    arn = ddb.describe_table(TableName="trim-test")["Table"]["LatestStreamArn"]
    for n in range(50):
        ddb.put_item(TableName="trim-test", Item={"pk": {"S": "p"}, "sk": {"S": f"{n:03}"}})
    gc.collect()
    items_before = len(Item.instances_tracked)
    for n in range(50):  # each one touches one item of a 50-item table
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "trim-test",
                        "Key": {"pk": {"S": "p"}, "sk": {"S": f"{n:03}"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(n)}},
                    }
                }
            ]
        )
    gc.collect()
    assert len(Item.instances_tracked) < items_before + 50  # moto alone: + 50 copies of 50 items
    kept = _records(streams := aws.client("dynamodbstreams", moto_url), arn)
    assert 20 <= len(kept) < 20 + 20 // 10 + 1
    numbers = [int(number) for number, _, _ in kept]
    assert numbers == list(range(numbers[0], numbers[0] + len(kept)))
    assert kept[-1][1:] == ("MODIFY", "p049")
    ddb.put_item(TableName="trim-test", Item={"pk": {"S": "p"}, "sk": {"S": "new"}})
    assert _records(streams, arn)[-1][1:] == ("INSERT", "pnew")


def test_a_query_reads_its_partition_with_conditions_order_and_pages(moto_url):
    """The Query shortcut (aws._fix_moto_table_queries) answers what moto answers: key conditions,
    filters, both orders, pages; on a hash-only table too."""
    ddb = aws.client("dynamodb", moto_url)
    _table(ddb, "query-test", stream=False)
    for pk in ("a", "b", "c"):
        for n in range(7):
            ddb.put_item(TableName="query-test", Item={"pk": {"S": pk}, "sk": {"S": f"{n:02}"}, "n": {"N": str(n)}})

    def query(values: dict | None = None, **extra) -> list[str]:
        keys, start = [], None
        while True:
            page = ddb.query(
                TableName="query-test",
                KeyConditionExpression="pk = :pk AND sk >= :from",
                ExpressionAttributeValues={":pk": {"S": "b"}, ":from": {"S": "02"}, **(values or {})},
                Limit=2,
                **({"ExclusiveStartKey": start} if start else {}),
                **extra,
            )
            keys += [item["pk"]["S"] + item["sk"]["S"] for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return keys

    assert query() == ["b02", "b03", "b04", "b05", "b06"]
    assert query(ScanIndexForward=False) == ["b06", "b05", "b04", "b03", "b02"]
    assert query(FilterExpression="n <> :three", values={":three": {"N": "3"}}) == ["b02", "b04", "b05", "b06"]
    nothing = ddb.query(
        TableName="query-test", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "zz"}}
    )
    assert nothing["Items"] == [] and nothing["Count"] == 0
    ddb.create_table(
        TableName="query-hash-only",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("x", "y"):
        ddb.put_item(TableName="query-hash-only", Item={"pk": {"S": pk}})
    answer = ddb.query(
        TableName="query-hash-only", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "y"}}
    )
    assert answer["Items"] == [{"pk": {"S": "y"}}]


def test_shard_iterators_expire_and_are_forgotten(moto_url, monkeypatch):
    """moto kept every iterator it handed out; here they expire (ExpiredIteratorException, which
    the stream poller answers with a new one) and expired ones are dropped."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    ddb = aws.client("dynamodb", moto_url)
    streams = aws.client("dynamodbstreams", moto_url)
    _table(ddb, "iterator-test")
    arn = ddb.describe_table(TableName="iterator-test")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterators = dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators

    def new_iterator() -> str:
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]

    live = new_iterator()
    assert streams.get_records(ShardIterator=live)["Records"] == []
    monkeypatch.setattr(aws, "ITERATOR_LIFETIME", 0.0)  # from now on, each expires as it is made
    for _ in range(300):
        expired = new_iterator()
    # Expired iterators are dropped now and then (other tests' pollers share this backend and
    # decide when); make the next one prune, then only the live ones of this table are left.
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    monkeypatch.setattr(backend, "caisse_prune_at", 0, raising=False)
    expired = new_iterator()
    ours = [arn for arn in iterators if "/iterator-test/" in arn]
    assert len(ours) <= 3  # moto alone: 303 (the first, the one get_records made after it, the newest)
    with pytest.raises(streams.exceptions.ExpiredIteratorException):
        streams.get_records(ShardIterator=expired)


def test_request_counter(moto_url):
    assert httpx.delete(f"{moto_url}/_caisse/requests").status_code == 204
    ddb = aws.client("dynamodb", moto_url)
    for _ in range(3):
        ddb.list_tables()
    aws.client("sns", moto_url).list_topics()
    s3 = aws.client("s3", moto_url)
    s3.create_bucket(Bucket="counter-test")
    counts = httpx.get(f"{moto_url}/_caisse/requests").json()
    assert counts["dynamodb"] == {"ListTables": 3}
    assert counts["sns"] == {"ListTopics": 1}
    assert counts["s3"] == {"PUT /counter-test": 1}
    httpx.delete(f"{moto_url}/_caisse/requests")
    assert httpx.get(f"{moto_url}/_caisse/requests").json() == {}


def test_aws_endpoint_command_stops_cleanly_on_sigterm():
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [PYTHON, "-m", "caisse_local.aws", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # printed once listening
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), line + proc.stderr.read()
        ddb = aws.client("dynamodb", url)
        assert ddb.list_tables()["TableNames"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


# --------------------------------------------------------------------------- runtime


@pytest.fixture
def probe(template, ctx, monkeypatch):
    shared = types.ModuleType("lr_probe_shared")
    shared.lock = threading.Lock()
    shared.active = 0
    shared.peak = 0
    shared.barrier = threading.Barrier(2)
    monkeypatch.setitem(sys.modules, "lr_probe_shared", shared)
    return shared, template.function("ProbeFunction", ctx)


def test_concurrent_invocations_get_their_own_module_instance(probe):
    shared, spec = probe
    with runtime.FunctionPool(spec, max_concurrency=2) as pool, ThreadPoolExecutor(2) as callers:
        results = list(callers.map(pool.invoke, [{"id": "a", "barrier": True}, {"id": "b", "barrier": True}]))
    # Both waited at one barrier, so they ran at the same time, each in its own module instance:
    # neither saw the other's module-global CURRENT_EVENT nor its call count.
    assert [r["id"] for r in results] == ["a", "b"]
    assert len({r["module"] for r in results}) == 2
    assert all(r["module"].startswith("lr_probe__c") and r["calls"] == 1 for r in results)
    first = results[0]
    assert first["function_name"] == spec.name and first["memory"] == "256" and first["version"] == "$LATEST"
    assert first["arn"] == spec.arn and first["log_group"] == f"/aws/lambda/{spec.name}"
    assert 0 < first["remaining_ms"] <= 5000


def test_containers_printing_at_once_never_share_a_line(probe, capsys):
    """Each container's output reaches the one stdout as whole lines (Lambda gives each environment
    its own log stream): two texts printed at once, each then its newline, stay two lines."""
    _, spec = probe
    with runtime.FunctionPool(spec, max_concurrency=2) as pool, ThreadPoolExecutor(2) as callers:
        list(callers.map(pool.invoke, [{"id": "a", "say": '{"metric": 1}'}, {"id": "b", "say": '{"log": 2}'}]))
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines) == ['{"log": 2}', '{"metric": 1}'], lines


def test_concurrent_api_invocations_each_read_their_own_request(template, ctx, monkeypatch):
    """Powertools keeps the request being resolved on its BaseRouter class: in Lambda one per
    environment (a process each), here one per container thread, so one request is never
    validated or answered with another's query string."""
    shared = types.ModuleType("lr_probe_shared")
    shared.barrier = threading.Barrier(2)
    monkeypatch.setitem(sys.modules, "lr_probe_shared", shared)

    def request(n: str) -> dict:
        return {
            "resource": "/count",
            "path": "/count",
            "httpMethod": "GET",
            "headers": {},
            "multiValueHeaders": {},
            "queryStringParameters": {"n": n},
            "multiValueQueryStringParameters": {"n": [n]},
            "requestContext": {"stage": "test", "path": "/test/count", "httpMethod": "GET"},
            "body": None,
            "isBase64Encoded": False,
        }

    spec = template.function("ResolverFunction", ctx)
    with runtime.FunctionPool(spec, max_concurrency=2) as pool, ThreadPoolExecutor(2) as callers:
        answers = list(callers.map(pool.invoke, [request("1"), request("2")]))
    assert [a["statusCode"] for a in answers] == [200, 200], answers
    assert [json.loads(a["body"]) for a in answers] == [{"asked": 1, "seen": "1"}, {"asked": 2, "seen": "2"}]


def test_pool_never_runs_more_than_max_concurrency(probe):
    shared, spec = probe
    with runtime.FunctionPool(spec, max_concurrency=2) as pool, ThreadPoolExecutor(6) as callers:
        results = list(callers.map(pool.invoke, [{"id": str(i), "sleep": 0.05} for i in range(6)]))
        assert pool.containers == 2
    assert shared.peak == pool.peak_concurrency == 2
    assert [r["id"] for r in results] == [str(i) for i in range(6)]
    calls_per_module: dict[str, int] = {}
    for r in results:
        calls_per_module[r["module"]] = max(calls_per_module.get(r["module"], 0), r["calls"])
    assert len(calls_per_module) == 2 and sum(calls_per_module.values()) == 6


def test_function_errors_timeouts_and_throttling(probe):
    shared, spec = probe
    with runtime.FunctionPool(spec, max_concurrency=1, queue_timeout=0.1) as pool:
        with pytest.raises(runtime.FunctionError) as failed:
            pool.invoke({"id": "x", "fail": True})
        assert failed.value.error_type == "ValueError"
        assert "probe failed on purpose" in failed.value.traceback
        assert failed.value.payload()["errorMessage"] == "probe failed on purpose"

        with pytest.raises(runtime.FunctionError) as marshal:
            pool.invoke({"id": "x", "unserialisable": True})
        assert marshal.value.error_type == "Runtime.MarshalError"

        with pytest.raises(runtime.FunctionTimeout):
            pool.invoke({"id": "slow", "sleep": 0.5}, timeout=0.1)
        with pytest.raises(runtime.TooManyRequests):  # the timed-out call still holds the only container
            pool.invoke({"id": "next"})
        deadline = time.monotonic() + 5
        while pool.containers and time.monotonic() < deadline:  # the slow call ends, its container retires
            time.sleep(0.02)
        after = pool.invoke({"id": "fresh"})
        assert after["calls"] == 1  # a fresh container replaced the timed-out one


# --------------------------------------------------------------------------- authorizer


def test_tokens_verify_to_string_claims():
    claims = authorizer.verify(authorizer.issue_token("m-42", email="ana@example.test"))
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["custom:merchant_id"] == "m-42"
    assert claims["cognito:groups"] == "merchant-staff"
    assert claims["email"] == "ana@example.test" and claims["token_use"] == "id"
    assert claims["iss"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_caisselocal"
    assert int(claims["exp"]) - int(claims["iat"]) == 3600
    admin = authorizer.verify(authorizer.issue_token())
    assert admin["cognito:groups"] == "platform-admin" and "custom:merchant_id" not in admin

    forged = jwt.encode(
        {**jwt.decode(authorizer.issue_token(), options={"verify_signature": False})},
        "a-different-key-that-is-long-enough-for-hs256",
    )
    for bad in (authorizer.issue_token(ttl_seconds=-10), forged, "not-a-jwt"):
        with pytest.raises(authorizer.Unauthorized):
            authorizer.verify(bad)


def test_token_command_prints_a_token():
    out = subprocess.run(  # noqa: S603 - fixed argv
        [PYTHON, "-m", "caisse_local.authorizer", "--merchant", "m-7", "--ttl", "60"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert authorizer.verify(out)["custom:merchant_id"] == "m-7"


# --------------------------------------------------------------------------- API Gateway


@pytest.fixture(scope="module")
def api(template):
    ctx = tpl.Context()
    specs = {f.logical_id: f for f in template.functions(ctx) if f.logical_id != "ProbeFunction"}
    pools = {name: runtime.FunctionPool(spec) for name, spec in specs.items()}
    with mock.patch.dict(os.environ):
        runtime.apply_environment(specs.values())
        gateway = ApiGateway.from_template(template, ctx, pools)
        with BackgroundServer(gateway) as server, httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    for pool in pools.values():
        pool.close()


def _event(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_api_passes_path_parameters_and_query_strings(api):
    response = api.get("/items/abc%20d", params=[("q", "x y"), ("tag", "1"), ("tag", "2")], headers={"X-Trace": "t"})
    event = _event(response)
    assert event["resource"] == "/items/{item_id}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"item_id": "abc%20d"}  # REST APIs keep the percent-encoding
    assert event["queryStringParameters"] == {"q": "x y", "tag": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["x y"], "tag": ["1", "2"]}
    assert event["headers"]["X-Trace"] == "t" and event["multiValueHeaders"]["X-Trace"] == ["t"]
    assert event["body"] is None and event["isBase64Encoded"] is False and event["stageVariables"] is None
    context = event["requestContext"]
    assert context["path"] == "/test/items/abc%20d" and context["stage"] == "test"
    assert context["resourcePath"] == "/items/{item_id}" and "authorizer" not in context
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert response.headers["X-Function"] == "caisse-local-EchoFunction"
    assert response.headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert response.json()["greeting"] == "hello, us-east-1"

    assert _event(api.get("/items/special"))["resource"] == "/items/special"  # literal beats {item_id}
    assert _event(api.get("/items/special"))["pathParameters"] is None
    files = _event(api.delete("/files/a/b/c.txt"))
    assert files["pathParameters"] == {"proxy": "a/b/c.txt"} and files["httpMethod"] == "DELETE"
    assert files["queryStringParameters"] is None


def test_api_bodies_text_and_binary(api):
    assert _event(api.post("/upload", content="héllo".encode()))["body"] == "héllo"
    binary = b"\x89PNG\x00\xff\xfe"
    event = _event(api.post("/upload", content=binary, headers={"Content-Type": "image/png"}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary
    response = api.get("/files/logo.png", params={"binary": "1"})
    assert response.content == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert response.headers["content-type"] == "image/png"
    too_big = api.post("/upload", content=b"x" * (MAX_BODY_BYTES + 1))
    assert too_big.status_code == 413


def test_api_gateway_answers_for_unknown_routes_and_preflight(api):
    for response in (api.get("/nowhere"), api.post("/items/abc"), api.get("/files")):
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
    preflight = api.options("/items/abc", headers={"Origin": "https://shop.example.test"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example.test"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type,Authorization"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert preflight.headers["Access-Control-Max-Age"] == "600"


def test_api_authorizer(api):
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": authorizer.issue_token(ttl_seconds=-5)},
    ):
        response = api.get("/admin/whoami", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    for token in (authorizer.issue_token("m-1"), "Bearer " + authorizer.issue_token("m-1")):
        claims = _event(api.get("/admin/whoami", headers={"Authorization": token}))["requestContext"]["authorizer"][
            "claims"
        ]
        assert claims["custom:merchant_id"] == "m-1" and claims["cognito:groups"] == "merchant-staff"
        assert all(isinstance(v, str) for v in claims.values())


def test_api_answers_502_when_the_function_fails(api, capfd):
    for path in ("/boom", "/malformed"):
        response = api.get(path)
        assert response.status_code == 502
        assert response.json() == {"message": "Internal server error"}
    err = capfd.readouterr().err
    assert "BoomError: kaboom" in err and "malformed Lambda proxy response" in err


def test_free_port_and_server_restart():
    port = free_port()
    app = ApiGateway([], {})
    with BackgroundServer(app, port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert httpx.get(server.url + "/x").status_code == 403
    with BackgroundServer(app, port=port) as again:  # the port is released on stop
        assert httpx.get(again.url + "/x").status_code == 403
