"""Field-level encryption against moto's KMS in-process: what a checkout seals, staff can unseal for
the same order and field only, and a checkout's brief and phone cost one KMS data key."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from caisse import encryption
from caisse.config import settings


@pytest.fixture
def kms_key():
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        arn = kms.create_key(Description="test personal data")["KeyMetadata"]["Arn"]
        os.environ["PERSONAL_DATA_KEY_ARN"] = arn
        settings.cache_clear()
        encryption._sdk.cache_clear()
        calls: list[str] = []
        from caisse.db import shared_connection

        shared_connection().session.register("before-call.kms", lambda model, **_: calls.append(model.name))
        yield calls
        os.environ.pop("PERSONAL_DATA_KEY_ARN")
        settings.cache_clear()
        encryption._sdk.cache_clear()


def test_a_sealed_value_opens_only_for_its_order_and_field(kms_key):
    sealed = encryption.seal("Our night at Kribi beach", order_id="o-1", field="answers")
    assert "Kribi" not in sealed
    assert encryption.unseal(sealed, order_id="o-1", field="answers") == "Our night at Kribi beach"
    for order_id, field in (("o-2", "answers"), ("o-1", "phone")):
        with pytest.raises(encryption.SealUnavailable):
            encryption.unseal(sealed, order_id=order_id, field=field)
    with pytest.raises(encryption.SealUnavailable):
        encryption.unseal("not a ciphertext", order_id="o-1", field="answers")


def test_one_data_key_per_order_and_one_decrypt_for_repeated_reads(kms_key):
    brief = encryption.seal("a brief", order_id="o-1", field="answers")
    phone = encryption.seal("237677777777", order_id="o-1", field="phone")
    encryption.seal("another brief", order_id="o-2", field="answers")
    assert kms_key.count("GenerateDataKey") == 2  # o-1's brief and phone share one
    for _ in range(3):
        assert encryption.unseal(brief, order_id="o-1", field="answers") == "a brief"
        assert encryption.unseal(phone, order_id="o-1", field="phone") == "237677777777"
    assert kms_key.count("Decrypt") == 1  # the shared data key, decrypted once and cached


def test_without_a_key_nothing_is_written_in_clear(kms_key):
    os.environ["PERSONAL_DATA_KEY_ARN"] = ""
    settings.cache_clear()
    encryption._sdk.cache_clear()
    with pytest.raises(encryption.SealUnavailable):
        encryption.seal("a brief", order_id="o-1", field="answers")
