"""Our Stripe signature check against the SDK's, on the same vectors (signed by the local sandbox's
signer, an implementation of its own). That the webhook functions import no SDK is checked with the
other cold-start imports (test_cold_start_imports.py)."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from caisse.payments.stripe.signature import TOLERANCE_SECONDS, SignatureMismatch, verify
from provider_sandbox.signing import compute_signature, sign

SECRET = "whsec_unit_test_not_a_secret"
OTHER = "whsec_unit_test_other_not_a_secret"
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed"}).encode()


def ours(body: bytes, header: str) -> bool:
    try:
        verify(body, header, SECRET)
    except SignatureMismatch:
        return False
    return True


def sdks(body: bytes, header: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, SECRET, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return False
    return True


def vectors(now: int) -> list[tuple[str, bytes, str, bool]]:
    """The same cases as the SDK's own tests, dated from `now`: built when the test runs, not when
    it is collected (on a loaded machine a test may run minutes after collection)."""
    right = compute_signature(BODY, SECRET, now)
    wrong = compute_signature(BODY, OTHER, now)
    altered = bytearray(BODY)
    altered[10] ^= 0x01  # one bit of one byte
    return [
        ("valid", BODY, sign(BODY, SECRET, now), True),
        ("valid, with a v0 too", BODY, f"t={now},v0=abc,v1={right}", True),
        ("wrong secret", BODY, sign(BODY, OTHER, now), False),
        ("several v1, one right (a secret being rolled)", BODY, f"t={now},v1={wrong},v1={right}", True),
        ("several v1, none right", BODY, f"t={now},v1={wrong},v1={'0' * 64}", False),
        ("expired: older than the tolerance", BODY, sign(BODY, SECRET, now - TOLERANCE_SECONDS - 5), False),
        ("just within the tolerance", BODY, sign(BODY, SECRET, now - TOLERANCE_SECONDS + 30), True),
        ("no t", BODY, f"v1={right}", False),
        ("no v1", BODY, f"t={now},v0={right}", False),
        ("malformed header", BODY, "garbage", False),
        ("malformed timestamp", BODY, f"t=soon,v1={right}", False),
        ("empty header", BODY, "", False),
        ("body altered by one byte", bytes(altered), sign(BODY, SECRET, now), False),
        ("body with one byte more", BODY + b" ", sign(BODY, SECRET, now), False),
    ]


NAMES = [vector[0] for vector in vectors(0)]


@pytest.mark.parametrize("name", NAMES)
def test_ours_and_the_sdk_agree(name):
    [(_, body, header, authentic)] = [vector for vector in vectors(int(time.time())) if vector[0] == name]
    assert ours(body, header) is authentic
    assert sdks(body, header) is authentic


def test_a_future_timestamp_beyond_the_tolerance_is_refused_where_the_python_sdk_accepts_it():
    """Stripe's page compares the difference with now; stripe-python only refuses old timestamps.
    A signature dated ahead would stay replayable longer, so ours refuses it (the one vector on
    which the two differ, on purpose)."""
    ahead = sign(BODY, SECRET, int(time.time()) + TOLERANCE_SECONDS + 60)
    assert sdks(BODY, ahead) is True
    assert ours(BODY, ahead) is False
    assert ours(BODY, sign(BODY, SECRET, int(time.time()) + 30)) is True  # a clock a little ahead


def test_a_non_ascii_signature_is_refused_where_the_sdk_raises_type_error():
    header = f"t={int(time.time())},v1=é{compute_signature(BODY, SECRET, int(time.time()))[1:]}"
    assert ours(BODY, header) is False
    with pytest.raises(TypeError):  # hmac.compare_digest on non-ASCII str, inside the SDK
        sdks(BODY, header)


def test_the_signed_timestamp_is_returned():
    assert verify(BODY, sign(BODY, SECRET, 1_800_000_000), SECRET, now=1_800_000_100) == 1_800_000_000
