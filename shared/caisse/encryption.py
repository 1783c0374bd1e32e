"""Field-level encryption of what customers write about themselves (the song brief, phone numbers),
so the orders table, its stream, its backups and the logs only ever hold ciphertext.

Envelope encryption with the AWS Encryption SDK under one customer-managed KMS key
(PERSONAL_DATA_KEY_ARN): each value is encrypted with a data key that KMS wraps, in the SDK's own
message format (key commitment required, ECDSA-signed, so a role that may only decrypt cannot
forge a brief). Every value is bound to its order through the encryption context (which KMS logs
with each call, so CloudTrail says whose brief was decrypted) and to its field inside the signed
message, so a ciphertext copied onto another order or field does not decrypt there.

Data keys are cached for five minutes in the function (the SDK's caching materials manager). The
cache is keyed by the encryption context, so it saves KMS calls within one order (the brief and the
phone of a checkout share one data key: one GenerateDataKey) and on repeated reads of the same order
(one Decrypt), not across orders: each order's data key is its own. The SDK (and cryptography) ship
in the EncryptionLayer of the functions that seal or unseal, and are imported on first use only,
so a checkout without personal fields pays nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import cache
from typing import Any

from caisse.config import settings
from caisse.errors import CaisseError

PURPOSE = "caisse-personal-data"
CACHE_SECONDS = 300.0
CACHE_ENTRIES = 100
MESSAGES_PER_DATA_KEY = 1000


class SealUnavailable(CaisseError):
    """KMS could not be reached or refused the key: nothing is shown or written in clear instead."""

    status = 503
    code = "service_unavailable"


@cache
def _sdk() -> tuple[Any, Any]:
    import aws_encryption_sdk
    from aws_encryption_sdk import (
        CachingCryptoMaterialsManager,
        CommitmentPolicy,
        LocalCryptoMaterialsCache,
        StrictAwsKmsMasterKeyProvider,
    )

    from caisse.db import shared_connection

    key = settings().personal_data_key
    if not key:
        raise SealUnavailable("personal data cannot be encrypted: PERSONAL_DATA_KEY_ARN is not set")
    # The botocore session DynamoDB already uses: a second session costs ~35 ms of cold start.
    keys = StrictAwsKmsMasterKeyProvider(key_ids=[key], botocore_session=shared_connection().session)
    materials = CachingCryptoMaterialsManager(
        master_key_provider=keys,
        cache=LocalCryptoMaterialsCache(CACHE_ENTRIES),
        max_age=CACHE_SECONDS,
        max_messages_encrypted=MESSAGES_PER_DATA_KEY,
    )
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    return client, materials


def _context(order_id: str) -> dict[str, str]:
    return {"purpose": PURPOSE, "order_id": order_id}


def seal(value: str, *, order_id: str, field: str) -> str:
    """The ciphertext of `value` (base64 text, for a DynamoDB string attribute)."""
    from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError

    client, materials = _sdk()
    try:
        ciphertext, _ = client.encrypt(
            source=json.dumps({"field": field, "value": value}, ensure_ascii=False).encode(),
            materials_manager=materials,
            encryption_context=_context(order_id),
        )
    except AWSEncryptionSDKClientError as error:
        raise SealUnavailable("personal data could not be encrypted; please try again") from error
    return base64.b64encode(ciphertext).decode()


def unseal(sealed: str, *, order_id: str, field: str) -> str:
    """The plain text of a value `seal` made for this order and field."""
    from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError

    client, materials = _sdk()
    try:
        plaintext, header = client.decrypt(source=base64.b64decode(sealed), materials_manager=materials)
    except (AWSEncryptionSDKClientError, binascii.Error) as error:
        raise SealUnavailable("personal data could not be decrypted; please try again") from error
    opened = json.loads(plaintext)
    expected = _context(order_id)
    if any(header.encryption_context.get(name) != value for name, value in expected.items()) or (
        opened.get("field") != field
    ):
        raise SealUnavailable("this value was not encrypted for this order and field")
    return str(opened["value"])
