"""What template.yaml promises about the resources the local stack cannot enforce (moto does not
check key policies or alarms): read from the template itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from caisse_local import template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = template.load(ROOT / "template.yaml")


@pytest.mark.parametrize(("topic", "publisher"), [("AlarmTopic", "cloudwatch"), ("EmailFeedbackTopic", "ses")])
def test_encrypted_topics_can_be_published_to_by_the_services_that_feed_them(topic, publisher):
    """alias/aws/sns's policy cannot be edited: CloudWatch alarms and SES events could not publish
    to a topic encrypted with it. Ours is a customer-managed key that lets them."""
    key_ref = TEMPLATE.resources[topic]["Properties"]["KmsMasterKeyId"]
    assert key_ref != "alias/aws/sns"
    key = TEMPLATE.resources[key_ref["Ref"]]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    granted = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if f"{publisher}.amazonaws.com" in statement.get("Principal", {}).get("Service", [])
    ]
    assert granted and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(granted[0]["Action"])


@pytest.mark.parametrize("metric", ["PaymentWithoutOrder", "PaymentForClosedOrder", "DisputeOpened"])
def test_money_that_needs_a_person_is_alarmed(metric):
    [alarm] = [
        r["Properties"]
        for r in TEMPLATE.resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == metric
    ]
    assert alarm["Namespace"] == "Caisse" and "Dimensions" not in alarm
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
