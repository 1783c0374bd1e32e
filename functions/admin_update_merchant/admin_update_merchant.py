"""PATCH /admin/merchants/{merchant_id}/settings: what a merchant's own staff change (business
details, languages and time zone, the new-order email, the refund policy within the platform's
bounds, gallery defaults), each change recorded with who and when."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths

from caisse.bookings.setup import merchant_settings
from caisse.catalog.merchant_settings import change_settings
from caisse.catalog.schemas import MERCHANT_ID, MerchantSettingsUpdate
from caisse.observability import observability
from caisse.web import Path, current_staff, error_responses, resolver

logger, metrics, tracer = observability("admin-update-merchant")
app = resolver(logger)


@app.patch(
    "/admin/merchants/<merchant_id>/settings",
    summary="Change a merchant's settings",
    responses={
        200: {"description": "The merchant's settings as they now are"},
        **error_responses(
            {
                400: "refund_policy_out_of_bounds: a stage's percent outside the platform's bounds "
                "(`stage`, `bound`, `limit`); unknown_stage",
                403: "forbidden: another merchant",
                404: "not_found: no such merchant",
                409: "settings_changed: another change came in between (read again, retry); too_many_products",
                422: "invalid_request: an unknown field, an address, a time zone; default_not_a_language",
            }
        ),
    },
)
def update(
    merchant_id: Annotated[str, Path(max_length=64, pattern=MERCHANT_ID)], changes: MerchantSettingsUpdate
) -> dict:
    staff = current_staff(app)
    change_settings(merchant_id, staff, changes)
    logger.info(
        "merchant settings changed",
        extra={"merchant": merchant_id, "by": staff.actor_id, "fields": sorted(changes.model_fields_set)},
    )
    return merchant_settings(merchant_id, staff)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
