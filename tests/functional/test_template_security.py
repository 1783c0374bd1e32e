"""What template.yaml promises about the resources the local stack cannot enforce (moto does not
check key policies or alarms): read from the template itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from caisse_local import template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = template.load(ROOT / "template.yaml")
FUNCTIONS = {lid: r for lid, r in TEMPLATE.resources.items() if r["Type"] == "AWS::Serverless::Function"}


def function_statements(logical_id: str) -> list[dict]:
    """What a function's role allows: its own statements and those of the managed policies it
    attaches by `!Ref` (template.yaml's shared policies)."""
    statements = []
    for policy in FUNCTIONS[logical_id]["Properties"].get("Policies", []):
        if set(policy) == {"Ref"}:
            policy = TEMPLATE.resources[policy["Ref"]]["Properties"]["PolicyDocument"]
        statements.extend(policy["Statement"])
    return statements


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_function_is_allowed_only_its_own_statements_and_the_shared_policies_of_this_template(logical_id):
    """No AWS managed policy, SAM policy template or policy of another stack widens a role unseen:
    each entry of Policies is an inline document or a `!Ref` to an AWS::IAM::ManagedPolicy here."""
    for policy in FUNCTIONS[logical_id]["Properties"].get("Policies", []):
        assert isinstance(policy, dict), f"{logical_id}: {policy!r}"
        if set(policy) == {"Ref"}:
            assert TEMPLATE.resources[policy["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy", logical_id
        else:
            assert set(policy) == {"Statement"} and policy["Statement"], f"{logical_id}: {policy!r}"


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


def test_the_personal_data_key_is_administered_by_the_account_and_used_only_by_the_roles_that_need_it():
    """The brief and phones' key: the account may manage it but not use it; the checkout role may
        only generate data keys, five staff routes may only decrypt (an order, a refund to pay back, the owed
        refunds' list, the bookings of a day, a customer's export), and the email function may only decrypt
    (the tradie's new-booking email shows the job), each with Caisse's context."""
    key = TEMPLATE.resources["PersonalDataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    admin = statements["AccountAdministersWithoutUsing"]["Action"]
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"} & set(admin)
    assert statements["CheckoutEncrypts"]["Action"] == "kms:GenerateDataKey"
    assert statements["StaffRoutesDecrypt"]["Action"] == "kms:Decrypt"
    assert statements["NewBookingEmailDecrypts"]["Action"] == "kms:Decrypt"
    assert "SendEmailFunctionRole-*" in str(statements["NewBookingEmailDecrypts"]["Condition"]["ArnLike"])
    for sid in ("CheckoutEncrypts", "StaffRoutesDecrypt", "NewBookingEmailDecrypts"):
        condition = statements[sid]["Condition"]
        assert condition["StringEquals"] == {"kms:EncryptionContext:purpose": "caisse-personal-data"}
    decrypters = str(statements["StaffRoutesDecrypt"]["Condition"]["ArnLike"]["aws:PrincipalArn"])
    using = {}
    for logical_id in FUNCTIONS:
        for statement in function_statements(logical_id):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("kms:") for action in actions):
                assert statement["Resource"] == {"Fn::GetAtt": ["PersonalDataKey", "Arn"]}, logical_id
                using[logical_id] = sorted(actions)
    assert using == {
        "CreateCheckoutFunction": ["kms:GenerateDataKey"],
        "AdminGetOrderFunction": ["kms:Decrypt"],
        "AdminRefundOrderFunction": ["kms:Decrypt"],
        "ExportCustomerFunction": ["kms:Decrypt"],
        "AdminListOwedRefundsFunction": ["kms:Decrypt"],
        "AdminListBookingsFunction": ["kms:Decrypt"],
        "SendEmailFunction": ["kms:Decrypt"],
    }
    decrypting = ("AdminGetOrderFunction", "AdminRefundOrderFunction", "ExportCustomerFunction")
    for logical_id in (*decrypting, "AdminListOwedRefundsFunction", "AdminListBookingsFunction"):
        assert f"{logical_id}Role-*" in decrypters
