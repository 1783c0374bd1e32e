"""Request shapes of the media routes (pydantic, validated by the Event Handler and published in
the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from caisse.media.rules import MAX_UPLOAD_BYTES

_STRICT = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)

MEDIA_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class UploadIn(BaseModel):
    model_config = _STRICT
    merchant: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    purpose: Literal["gallery"]
    gallery_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Photos of one gallery share it"
    )
    filename: str = Field(min_length=1, max_length=255, description="Kept for display; the bytes decide the format")
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: int = Field(
        ge=1, le=MAX_UPLOAD_BYTES, strict=True, description="Exact size in bytes; the upload URL accepts only this"
    )
