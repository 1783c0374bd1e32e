"""Reading S3 notifications (AWS's shape and moto's), upload keys, and how many encoder threads
a memory size is worth."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from caisse.media import storage
from caisse.media.events import UploadedObject, uploaded_objects
from caisse.media.processing import workers_for

AWS_EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "process_image.json").read_text())


def moto_event(key: str) -> dict:
    """What moto sends: no userIdentity, requestParameters, responseElements or sequencer."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-24T07:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "caisse-local-ProcessImageFunction.Uploaded",
                    "bucket": {"name": "uploads-bucket", "arn": "arn:aws:s3:::uploads-bucket"},
                    "object": {"key": key, "size": 1234, "eTag": "abc"},
                },
            }
        ]
    }


def test_the_real_aws_shape_is_read_and_its_key_decoded():
    [found] = uploaded_objects(AWS_EVENT)
    assert found == UploadedObject(
        bucket="caisse-local-uploads-123456789012-us-east-1",
        key="uploads/lumen/6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f/IMG 0042 (edit).jpg",
        size=181673,
        etag="d41d8cd98f00b204e9800998ecf8427e",
    )


def test_motos_shape_with_an_encoded_key_is_read_the_same_way():
    [found] = uploaded_objects(moto_event("uploads/lumen/abc/Caf%C3%A9+%2B+plage+1%2B1.jpg"))
    assert found.key == "uploads/lumen/abc/Café + plage 1+1.jpg"
    assert (found.bucket, found.size) == ("uploads-bucket", 1234)


def test_events_that_name_no_new_object_are_skipped():
    removed = copy.deepcopy(AWS_EVENT)
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads-bucket"}
    assert uploaded_objects(removed) == []
    assert uploaded_objects(test_event) == []
    assert uploaded_objects({"Records": []}) == []


def test_upload_keys_carry_a_safe_file_name_and_give_back_the_media_id():
    key = storage.upload_key("lumen", "m-1", "../../etc/Mariée à la plage (1).jpg")
    assert key == "uploads/lumen/m-1/Mariée à la plage (1).jpg"
    assert storage.media_id_from_key(key) == "m-1"
    assert storage.upload_key("lumen", "m-2", "a\x00b<script>.jpg") == "uploads/lumen/m-2/a_b_script_.jpg"
    assert storage.upload_key("lumen", "m-3", "...") == "uploads/lumen/m-3/image"
    assert storage.media_id_from_key("renditions/lumen/m-1/full.jpg") is None
    assert storage.media_id_from_key("uploads/lumen") is None


@pytest.mark.parametrize(
    ("memory", "cpus", "workers"),
    [("1769", 2, 1), (1024, 2, 1), (3538, 2, 2), (3008, 2, 2), (10240, 2, 2), (10240, 6, 2), (None, 2, 2)],
)
def test_one_encoder_thread_per_vcpu_the_memory_buys(memory, cpus, workers):
    assert workers_for(memory, cpus) == workers
