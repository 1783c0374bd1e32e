"""Request shapes of the media and gallery routes (pydantic, validated by the Event Handler and
published in the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from caisse.email_address import EmailAddress
from caisse.media.rules import MAX_UPLOAD_BYTES

_STRICT = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)

MEDIA_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
GALLERY_ID = MEDIA_ID
MERCHANT_ID = r"^[a-z0-9][a-z0-9-]*$"
ACCESS_CODE_HEADER = "X-Access-Code"


class UploadIn(BaseModel):
    model_config = _STRICT
    purpose: Literal["gallery"]
    gallery_id: str = Field(pattern=GALLERY_ID, description="A gallery of your merchant (POST /admin/galleries)")
    filename: str = Field(min_length=1, max_length=255, description="Kept for display; the bytes decide the format")
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: int = Field(
        ge=1, le=MAX_UPLOAD_BYTES, strict=True, description="Exact size in bytes; the upload URL accepts only this"
    )


class ClientIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    email: EmailAddress
    locale: Literal["en", "fr"] | None = Field(default=None, description="Defaults to the merchant's language")


class GalleryIn(BaseModel):
    model_config = _STRICT
    merchant: str | None = Field(
        default=None, max_length=40, pattern=MERCHANT_ID, description="Defaults to your own; platform staff name it"
    )
    title: str = Field(min_length=1, max_length=120)
    client: ClientIn
    order_id: str | None = Field(default=None, pattern=MEDIA_ID, description="The merchant's order it delivers")
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="After this the client's link answers 410 (staff can extend it); "
        "left out: the merchant's gallery_defaults.expiry_days from now",
    )
    downloads: bool | None = Field(
        default=None,
        description="Whether the client gets the full-size rendition; left out: the merchant's gallery_defaults",
    )
    access_code: bool = Field(
        default=False, description="Generate an access code the client must type (it is in the client's email)"
    )


class GalleryUpdate(BaseModel):
    model_config = _STRICT
    expires_at: AwareDatetime | None = Field(default=None, description="A time in the past closes the gallery now")
    downloads: bool | None = None
    access_code: Literal["new", "none"] | None = Field(
        default=None, description='"new" replaces the code (the old one stops working), "none" removes it'
    )

    @model_validator(mode="after")
    def _something(self) -> GalleryUpdate:
        if self.expires_at is None and self.downloads is None and self.access_code is None:
            raise ValueError("give expires_at, downloads or access_code")
        return self


class FavouriteIn(BaseModel):
    model_config = _STRICT
    media_id: str = Field(pattern=MEDIA_ID)
    favourite: bool = True
