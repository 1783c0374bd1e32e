"""POST /signup/merchant: a person who signed in (and is staff of no business yet) names their
business; they are its staff once they refresh their token."""

from aws_lambda_powertools.logging import correlation_paths

from caisse.catalog.signup import MerchantSignup, sign_up
from caisse.observability import observability
from caisse.web import current_person, error_responses, resolver

logger, metrics, tracer = observability("signup-merchant")
app = resolver(logger)


@app.post(
    "/signup/merchant",
    summary="Sign a business up on the platform",
    responses={
        200: {"description": "The new merchant; refresh the token to act as its staff"},
        **error_responses(
            {
                400: "kind_not_offered: the platform does not take this kind of business",
                409: "slug_taken (with a suggestion), already_owner or already_staff",
                503: "provider_unavailable: saved, but the user pool did not answer; send the same request again",
            }
        ),
    },
)
def signup(business: MerchantSignup) -> dict:
    person = current_person(app)
    answer = sign_up(business, person)
    logger.info("business signed up", extra={"merchant": answer["merchant_id"], "kind": answer["kind"]})
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
