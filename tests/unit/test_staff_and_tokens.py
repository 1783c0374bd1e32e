import pytest

from caisse.errors import Forbidden, Unauthorized
from caisse.orders import tokens
from caisse.payments.webhook import raw_body, request_of
from caisse.staff import staff_from_claims


def test_platform_staff_may_act_on_every_merchant():
    staff = staff_from_claims({"sub": "u1", "cognito:groups": "platform-admin"})
    assert staff.platform
    staff.require("songstudio")
    staff.require("festival")


@pytest.mark.parametrize("groups", ["platform-admin", "[platform-admin]", "a,platform-admin", ["platform-admin"]])
def test_group_claim_in_every_shape_api_gateway_uses(groups):
    assert staff_from_claims({"sub": "u1", "cognito:groups": groups}).platform


def test_merchant_staff_are_confined_to_their_merchant():
    staff = staff_from_claims({"sub": "u2", "custom:merchant_id": "festival", "cognito:groups": "merchant-staff"})
    staff.require("festival")
    with pytest.raises(Forbidden):
        staff.require("songstudio")


def test_no_claims_is_unauthorized_and_no_role_is_forbidden():
    with pytest.raises(Unauthorized):
        staff_from_claims(None)
    with pytest.raises(Forbidden):
        staff_from_claims({"sub": "u3", "cognito:groups": "customers"})


def test_order_token_is_bound_to_order_and_key():
    token = tokens.issue("order-1", "key-a")
    assert tokens.matches("order-1", token, "key-a")
    assert not tokens.matches("order-2", token, "key-a")
    assert not tokens.matches("order-1", token, "key-b")
    assert tokens.issue("order-1", "key-a") == token


def test_raw_body_decodes_base64_and_keeps_text_bytes_exact():
    assert raw_body({"body": '{"a": 1}', "isBase64Encoded": False}) == b'{"a": 1}'
    assert raw_body({"body": "eyJhIjogMX0=", "isBase64Encoded": True}) == b'{"a": 1}'
    assert raw_body({"body": None}) == b""
    assert raw_body({"body": "not base64!", "isBase64Encoded": True}) == b""


def test_header_lookup_ignores_case():
    event = {"headers": {"stripe-signature": "t=1"}, "multiValueHeaders": {"stripe-signature": ["t=1"]}}
    assert request_of(event).header("Stripe-Signature") == "t=1"
    assert request_of({"multiValueHeaders": {"STRIPE-SIGNATURE": ["a", "b"]}}).header("stripe-signature") == "b"
    assert request_of({}).header("Stripe-Signature") is None


def test_a_get_callback_keeps_its_query_and_the_caller_address():
    event = {
        "httpMethod": "GET",
        "queryStringParameters": {"reference": "r1", "signature": "s"},
        "requestContext": {"httpMethod": "GET", "identity": {"sourceIp": "198.51.100.7"}},
    }
    request = request_of(event)
    assert (request.method, dict(request.query), request.source_ip) == (
        "GET",
        {"reference": "r1", "signature": "s"},
        "198.51.100.7",
    )
    assert dict(request_of({"rawQueryString": "a=1&b=", "requestContext": {}}).query) == {"a": "1", "b": ""}
