"""scripts/create_staff_user.py against Cognito (moto): a merchant's staff member lands in
merchant-staff with custom:merchant_id, platform staff in platform-admin, and running it again
moves a person between them instead of failing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "create_staff_user.py"


@pytest.fixture
def cognito():
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        pool = client.create_user_pool(
            PoolName="caisse-dev-staff",
            UsernameAttributes=["email"],
            Schema=[{"Name": "merchant_id", "AttributeDataType": "String", "Mutable": True}],
        )["UserPool"]["Id"]
        for group in ("merchant-staff", "platform-admin"):
            client.create_group(UserPoolId=pool, GroupName=group)
        yield client, pool


def script():
    spec = importlib.util.spec_from_file_location("create_staff_user", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def groups(client, pool: str, email: str) -> list[str]:
    return [g["GroupName"] for g in client.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"]]


def attribute(client, pool: str, email: str, name: str) -> str | None:
    user = client.admin_get_user(UserPoolId=pool, Username=email)
    return next((a["Value"] for a in user["UserAttributes"] if a["Name"] == name), None)


def test_merchant_staff_then_platform_staff(cognito):
    client, pool = cognito
    create = script().create_staff_user
    made = create(client, pool, "Ana@SongStudio.example", "songstudio")
    assert made == {
        "email": "ana@songstudio.example",
        "merchant": "songstudio",
        "group": "merchant-staff",
        "created": True,
    }
    assert groups(client, pool, "ana@songstudio.example") == ["merchant-staff"]
    assert attribute(client, pool, "ana@songstudio.example", "custom:merchant_id") == "songstudio"

    again = create(client, pool, "ana@songstudio.example", None)  # promoted to platform staff
    assert (again["group"], again["created"]) == ("platform-admin", False)
    assert groups(client, pool, "ana@songstudio.example") == ["platform-admin"]
    assert attribute(client, pool, "ana@songstudio.example", "custom:merchant_id") is None

    back = create(client, pool, "ana@songstudio.example", "festival")
    assert back["group"] == "merchant-staff"
    assert attribute(client, pool, "ana@songstudio.example", "custom:merchant_id") == "festival"
