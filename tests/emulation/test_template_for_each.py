"""The local stack reads template.yaml's Fn::ForEach loops the way CloudFormation's
AWS::LanguageExtensions transform expands them, so the functions' log groups and alarms the loop
writes exist locally under the same logical ids and resolve to the same names."""

from __future__ import annotations

import pytest

from caisse_local import template as tpl

LOOP = """
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Parameters:
  Days: {Type: Number, Default: 30}
Resources:
  OneFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/one, Handler: one.handler}
  TwoFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/two, Handler: two.handler}
  Fn::ForEach::EveryFunction:
    - Operation
    - [One, Two]
    - ${Operation}LogGroup:
        Type: AWS::Logs::LogGroup
        Properties:
          LogGroupName: !Sub /aws/lambda/${${Operation}Function}
          RetentionInDays: !Ref Days
      ${Operation}ErrorsAlarm:
        Type: AWS::CloudWatch::Alarm
        Properties:
          AlarmDescription: !Sub ${Operation}Function failed. Runbook docs/runbooks/lambda-errors.md
          Dimensions: [{Name: FunctionName, Value: {Ref: !Sub "${Operation}Function"}}]
          AlarmName: "${Operation} stays as written outside Fn::Sub"
          Tags: [{Key: item, Value: !Ref Operation}]
"""


def test_each_item_gets_its_own_copy_of_the_fragment_under_its_own_logical_id():
    template = tpl.loads(LOOP)
    assert list(template.resources) == [
        "OneFunction",
        "TwoFunction",
        "OneLogGroup",
        "OneErrorsAlarm",
        "TwoLogGroup",
        "TwoErrorsAlarm",
    ]
    alarm = template.resources["TwoErrorsAlarm"]["Properties"]
    # A Sub left without a variable is its plain string; a Ref built by Sub is a Ref to that name;
    # `Ref: Operation` is the item; a plain string is not rewritten (as in CloudFormation).
    assert alarm["AlarmDescription"] == "TwoFunction failed. Runbook docs/runbooks/lambda-errors.md"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "TwoFunction"}}]
    assert alarm["AlarmName"] == "${Operation} stays as written outside Fn::Sub"
    assert alarm["Tags"] == [{"Key": "item", "Value": "Two"}]
    assert template.resources["OneLogGroup"]["Properties"] == {
        "LogGroupName": {"Fn::Sub": "/aws/lambda/${OneFunction}"},
        "RetentionInDays": {"Ref": "Days"},
    }


def test_the_expanded_resources_resolve_against_the_local_stack():
    template = tpl.loads(LOOP)
    ctx = tpl.Context(stack_name="caisse-local")
    group = template.resolve(template.resources["OneLogGroup"]["Properties"], ctx)
    assert group == {"LogGroupName": "/aws/lambda/caisse-local-OneFunction", "RetentionInDays": "30"}
    assert template.ref("TwoLogGroup", ctx) == "/aws/lambda/caisse-local-TwoFunction"


def test_nested_loops_and_non_alphanumeric_items():
    template = tpl.loads("""
Transform: AWS::LanguageExtensions
Resources:
  Fn::ForEach::Queues:
    - Team
    - [orders, e-mail]
    - Fn::ForEach::Kinds:
        - Kind
        - [Work, Failures]
        - "&{Team}${Kind}Queue":
            Type: AWS::SQS::Queue
            Properties: {QueueName: !Sub "${Team}-${Kind}"}
""")
    assert template.resources == {
        f"{team}{kind}Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-{kind}"}}
        for team, name in (("orders", "orders"), ("email", "e-mail"))
        for kind in ("Work", "Failures")
    }


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        (
            "Resources:\n  Fn::ForEach::X: [Id, [A], {'${Id}Queue': {Type: AWS::SQS::Queue}}]\n",
            "needs the AWS::LanguageExtensions transform",
        ),
        (
            "Transform: AWS::LanguageExtensions\n"
            "Resources:\n  Fn::ForEach::X: [Id, [A, A], {'${Id}Queue': {Type: AWS::SQS::Queue}}]\n",
            "makes AQueue twice",
        ),
        (
            "Transform: AWS::LanguageExtensions\n"
            "Resources:\n  Fn::ForEach::X: [Id, !Ref Names, {'${Id}Queue': {Type: AWS::SQS::Queue}}]\n",
            "literal list",
        ),
    ],
)
def test_a_loop_the_local_stack_cannot_expand_as_cloudformation_would_is_refused(text, refusal):
    with pytest.raises(tpl.TemplateError, match=refusal):
        tpl.loads(text)
