#!/usr/bin/env python3
"""How fast and how lean the image function's work is: the whole job (read, orient, four
renditions, EXIF, watermark, encode) on generated images, for our pipeline and for the
straightforward Pillow version, on one CPU and on two.

    .venv/bin/python scripts/bench_images.py [--runs 5] [--quick]      (make bench-images)

Each measurement is a fresh Python process that has imported Pillow and read the file before the
clock starts, pinned to one CPU (what Lambda gives at 1769 MB) or allowed both: median wall time,
median CPU time (all threads), and peak RSS (what Lambda reports as "Max Memory Used"; the
interpreter with Pillow is ~30 MB of it). The straightforward version opens the file, applies
the EXIF orientation to the full image, then resizes the full image with LANCZOS for each
rendition (flattening transparency each time) and saves into BytesIO.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARP = (
    "sharp/libvips on this machine (issue 4), 24 MP JPEG: 1.4-1.5 s wall with its parallel pipelines, "
    "2.3 s sequential, 660-740 MB peak"
)


# --------------------------------------------------------------------------- images


def _photo(width: int, height: int):
    """Photo-like content: smooth structure plus sensor-like grain (a 24 MP q92 JPEG is ~10 MB)."""
    from PIL import Image

    r = Image.effect_noise((width // 16, height // 16), 64).resize((width, height), Image.Resampling.BICUBIC)
    g = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    b = Image.effect_mandelbrot((width // 8, height // 8), (-2.0, -1.2, 1.0, 1.2), 100).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(Image.merge("RGB", [r, g, b]), grain, 0.2)


def generate(directory: Path, quick: bool) -> list[tuple[str, Path]]:
    from PIL import ExifTags, Image

    cases = []
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R5"
    exif[ExifTags.Base.Artist] = "Bench Photographer"
    exif[ExifTags.Base.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.6)}
    path = directory / "24mp.jpg"
    _photo(6000, 4000).save(path, "JPEG", quality=92, exif=exif)
    cases.append(("24 MP JPEG, orientation 6", path))
    path = directory / "12mp.jpg"
    _photo(4000, 3000).save(path, "JPEG", quality=92)
    cases.append(("12 MP JPEG", path))
    path = directory / "12mp-alpha.png"
    with_alpha = _photo(4000, 3000).convert("RGBA")
    with_alpha.putalpha(Image.radial_gradient("L").resize((4000, 3000)))
    with_alpha.save(path, "PNG", compress_level=6)
    cases.append(("12 MP PNG with alpha", path))
    path = directory / "800x600.jpg"
    _photo(800, 600).save(path, "JPEG", quality=90)
    cases.append(("800 x 600 JPEG", path))
    if not quick:
        # The worst case the caps admit: 64 MP with alpha (no JPEG draft possible) under 50 MB.
        path = directory / "64mp-alpha.png"
        side = 8000
        smooth = Image.merge(
            "RGBA",
            [
                Image.effect_noise((side // 16, side // 16), 64).resize((side, side), Image.Resampling.BICUBIC),
                Image.linear_gradient("L").resize((side, side)),
                Image.radial_gradient("L").resize((side, side)),
                Image.radial_gradient("L").resize((side, side)),
            ],
        )
        smooth.save(path, "PNG", compress_level=6)
        cases.append(("64 MP PNG with alpha (caps)", path))
    return cases


# --------------------------------------------------------------------------- the two jobs


def tuned_job(data: bytes, workers: int) -> int:
    from caisse.media import pipeline
    from caisse.media.watermark import Watermark

    with pipeline.render(data, Watermark(text="© Bench Photography"), workers=workers) as rendered:
        return sum(r.size for r in rendered.renditions)


def straightforward_job(data: bytes, workers: int) -> int:
    from PIL import Image, ImageOps

    from caisse.media import exif as exif_reader
    from caisse.media import watermark
    from caisse.media.rules import RENDITIONS, fit

    image = Image.open(io.BytesIO(data))
    exif_reader.read(image)
    image = ImageOps.exif_transpose(image)
    total = 0
    for spec in RENDITIONS:
        rendition = image.resize(fit(image.width, image.height, spec.long_edge), Image.Resampling.LANCZOS)
        if rendition.mode == "RGBA":
            background = Image.new("RGBA", rendition.size, (255, 255, 255, 255))
            rendition = Image.alpha_composite(background, rendition)
        rendition = rendition.convert("RGB")
        if spec.watermark:
            rendition = watermark.apply(rendition, watermark.Watermark(text="© Bench Photography"))
        out = io.BytesIO()
        rendition.save(out, "JPEG", quality=spec.quality, progressive=spec.progressive, optimize=not spec.progressive)
        total += out.tell()
    return total


JOBS = {"straightforward": straightforward_job, "tuned": tuned_job}


def child(job: str, path: str, workers: int, cpus: int) -> None:
    """One measurement, in this fresh process."""
    import PIL.Image  # noqa: F401 - imported before the clock starts, as in a warm Lambda

    import caisse.media.pipeline  # noqa: F401

    if cpus == 1:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    data = Path(path).read_bytes()
    before = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    written = JOBS[job](data, workers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": _peak_mb(), "base_mb": before, "bytes": written}))


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, because ru_maxrss survives exec and would report the
    parent's size (the benchmark holds the generated images)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(job: str, path: Path, workers: int, cpus: int, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        done = subprocess.run(  # noqa: S603 - ourselves, with our own arguments
            [sys.executable, __file__, "--child", job, str(path), str(workers), str(cpus)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


VARIANTS = [
    ("straightforward Pillow", "straightforward", 1, 1),
    ("ours, 1 thread", "tuned", 1, 1),
    ("ours, 2 threads", "tuned", 2, 1),
    ("ours, 2 threads", "tuned", 2, 2),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measurements per row (median)")
    parser.add_argument("--quick", action="store_true", help="one run each, without the 64 MP case")
    parser.add_argument("--child", nargs=4, metavar=("JOB", "PATH", "WORKERS", "CPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        job, path, workers, cpus = args.child
        child(job, path, int(workers), int(cpus))
        return 0
    runs = 1 if args.quick else args.runs
    available = len(os.sched_getaffinity(0))
    directory = Path(tempfile.mkdtemp(prefix="caisse-bench-images-"))
    try:
        print(f"generating images in {directory} ...", flush=True)
        cases = generate(directory, args.quick)
        load = "/".join(f"{v:.1f}" for v in os.getloadavg())
        python = sys.version.split()[0]
        print(f"median of {runs} fresh processes per row; Python {python}, {available} CPUs, load {load}\n")
        header = (
            f"{'image':<28} {'file MB':>7}  {'version':<22} {'CPUs':>4} {'wall s':>6} {'CPU s':>6} {'peak MB':>7} "
            f"{'out MB':>6}"
        )
        print(header)
        print("-" * len(header))
        for label, path in cases:
            size = path.stat().st_size / 1e6
            for index, (name, job, workers, cpus) in enumerate(VARIANTS):
                if cpus > available:
                    continue
                m = measure(job, path, workers, cpus, runs)
                title, file_mb = (label, f"{size:.1f}") if index == 0 else ("", "")
                print(
                    f"{title:<28} {file_mb:>7}  {name:<22} {cpus:>4} {m['wall']:>6.2f} {m['cpu']:>6.2f} "
                    f"{m['peak_mb']:>7.0f} {m['bytes'] / 1e6:>6.1f}",
                    flush=True,
                )
        print(
            f"\nload average at the end: {'/'.join(f'{v:.1f}' for v in os.getloadavg())} (other work skews the figures)"
        )
        print(f"reference: {SHARP}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
