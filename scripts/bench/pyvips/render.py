"""The renditions of scripts/bench_images.py made with pyvips (libvips from the pyvips-binary wheel),
the way a Python image function would if it used libvips instead of Pillow: `python render.py
<job.json>`, in the virtualenv bench_images.py makes from requirements.txt beside this file.

The job is render.mjs's (sharp): the same sizes, qualities, watermark patch and modes. "cascade"
decodes once to the largest size (libvips' thumbnail: shrink-on-load, then a lanczos3 reduce),
then makes each rendition from the one before it; "plain" makes each from the original. The
clock starts once pyvips is loaded and the file read; printed: wall and CPU time (all threads),
peak RSS (VmHWM), bytes written."""

import json
import re
import sys
import time
from pathlib import Path

import pyvips

job = json.loads(Path(sys.argv[1]).read_text())
data = Path(job["input"]).read_bytes()


def peak_mb() -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def flattened(image: pyvips.Image) -> pyvips.Image:
    return image.flatten(background=[255, 255, 255]) if image.hasalpha() else image


def encode(image: pyvips.Image, spec: dict) -> bytes:
    mark = spec.get("watermark")
    if mark:
        patch = pyvips.Image.new_from_file(mark["path"], access="sequential")
        image = image.composite2(patch, "over", x=mark["left"], y=mark["top"]).flatten()
    # libjpeg-turbo's defaults, Huffman tables optimised, chroma at 4:2:0 (libvips leaves it whole
    # from Q 90 by default; Pillow and sharp subsample): the same output as the other variants.
    return image.cast("uchar").jpegsave_buffer(
        Q=spec["quality"], interlace=spec["progressive"], optimize_coding=True, subsample_mode="on", keep="none"
    )


def from_original(spec: dict) -> pyvips.Image:
    # thumbnail_buffer orients by EXIF and shrinks on load; "force" gives the exact size asked.
    image = pyvips.Image.thumbnail_buffer(data, spec["width"], height=spec["height"], size="force")
    return flattened(image)


def resized(image: pyvips.Image, spec: dict) -> pyvips.Image:
    if (image.width, image.height) == (spec["width"], spec["height"]):
        return image
    scaled = image.resize(spec["width"] / image.width, vscale=spec["height"] / image.height, kernel="lanczos3")
    return scaled.copy_memory()


def plain() -> list[bytes]:
    return [encode(from_original(spec), spec) for spec in job["renditions"]]


def cascade() -> list[bytes]:
    out = []
    image = from_original(job["renditions"][0]).copy_memory()
    for spec in job["renditions"]:
        image = resized(image, spec)
        out.append(encode(image, spec))
    return out


base = peak_mb()
started, cpu = time.perf_counter(), time.process_time()
buffers = cascade() if job["mode"] == "cascade" else plain()
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = peak_mb()
for spec, buffer in zip(job["renditions"], buffers, strict=True):
    (Path(job["outdir"]) / f"{spec['name']}.jpg").write_bytes(buffer)
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "base_mb": base, "bytes": sum(map(len, buffers))}))
