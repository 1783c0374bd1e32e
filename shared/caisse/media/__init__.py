"""Images uploaded by staff: presigned uploads, renditions, EXIF summary, watermark, galleries.

Only `pipeline`, `exif` and `watermark` import Pillow, and only the image function (with the
imaging layer) imports them; the API functions use `rules`, `models`, `storage` and `service`.
"""
