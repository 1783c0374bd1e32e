"""POST /uploads: staff get a presigned PUT for one photo of one of their galleries (the image
function takes it from the bucket)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from caisse.media.schemas import UploadIn
from caisse.media.service import create_upload
from caisse.observability import observability
from caisse.web import Response, current_staff, error_responses, resolver

logger, metrics, tracer = observability("create-upload")
app = resolver(logger)


@app.post(
    "/uploads",
    summary="Upload a photo",
    responses={
        201: {"description": "The media id and where to PUT it"},
        **error_responses(
            {
                404: "not_found: no such gallery",
            }
        ),
    },
)
def post_upload(upload: UploadIn) -> Response[dict]:
    staff = current_staff(app)
    answer = create_upload(upload, staff)
    logger.info(
        "upload created",
        extra={
            "media_id": answer["media_id"],
            "gallery_id": answer["gallery_id"],
            "merchant": answer["merchant"],
            "bytes": upload.size,
            "by": staff.actor_id,
        },
    )
    metrics.add_metric(name="UploadCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
