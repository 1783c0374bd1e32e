#!/usr/bin/env python3
"""How fast and how lean the image function's work is: the whole job (read, orient, four
renditions, EXIF, watermark, encode) on generated images, for our pipeline, the straightforward
Pillow version, sharp (libvips, from npm, pinned in scripts/bench/sharp) and pyvips (the same
libvips from Python, pinned in scripts/bench/pyvips: what the image function would cost on that
engine), in one run.

    .venv/bin/python scripts/bench_images.py [--runs 5] [--quick] [--no-sharp] [--no-pyvips]     (make bench-images)

Each measurement is a fresh process (Python, or Node.js for sharp) that has loaded its library and
read the file before the clock starts, pinned to one CPU (what Lambda gives at 1769 MB) or allowed
both: median wall time, median CPU time (all threads), and peak RSS (what Lambda reports as "Max
Memory Used": the interpreter with Pillow is ~30 MB of it, Node.js with sharp ~50 MB). Every round
runs every variant once, in a new shuffled order, so load from other work hits all alike; ratios
are the median of the ratios within each round.

The variants make the same renditions (sizes computed once here, the same JPEG qualities,
progressive full, the same watermark patch): the straightforward version resizes the oriented
original with LANCZOS for each rendition; sharp "plain" makes each rendition from the original
(with libvips' shrink-on-load), sharp "cascading" decodes once and makes each rendition from the
one before, as ours does. "Equal output" is shown by the PSNR of every rendition against a
reference (the oriented, flattened original resized once with LANCZOS, not encoded, the same
watermark applied) and against ours.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARP_SOURCE = ROOT / "scripts" / "bench" / "sharp"
SHARP_DIR = ROOT / ".bench" / "sharp"
PYVIPS_SOURCE = ROOT / "scripts" / "bench" / "pyvips"
PYVIPS_DIR = ROOT / ".bench" / "pyvips"
MARK_TEXT = "© Bench Photography"


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


# --------------------------------------------------------------------------- the jobs


def tuned_job(data: bytes, workers: int) -> list[tuple[str, io.RawIOBase]]:
    from caisse.media import pipeline
    from caisse.media.watermark import Watermark

    rendered = pipeline.render(data, Watermark(text=MARK_TEXT), workers=workers)
    return [(r.name, r.file) for r in rendered.renditions]


def straightforward_job(data: bytes, workers: int) -> list[tuple[str, io.RawIOBase]]:
    from PIL import Image, ImageOps

    from caisse.media import exif as exif_reader
    from caisse.media import watermark
    from caisse.media.rules import RENDITIONS, fit

    image = Image.open(io.BytesIO(data))
    exif_reader.read(image)
    image = ImageOps.exif_transpose(image)
    out = []
    for spec in RENDITIONS:
        rendition = image.resize(fit(image.width, image.height, spec.long_edge), Image.Resampling.LANCZOS)
        if rendition.mode == "RGBA":
            background = Image.new("RGBA", rendition.size, (255, 255, 255, 255))
            rendition = Image.alpha_composite(background, rendition)
        rendition = rendition.convert("RGB")
        if spec.watermark:
            rendition = watermark.apply(rendition, watermark.Watermark(text=MARK_TEXT))
        file = io.BytesIO()
        rendition.save(file, "JPEG", quality=spec.quality, progressive=spec.progressive, optimize=not spec.progressive)
        out.append((spec.name, file))
    return out


JOBS = {"straightforward": straightforward_job, "tuned": tuned_job}


def child(job: str, path: str, workers: int, outdir: str) -> None:
    """One measurement, in this fresh process; the renditions are written to `outdir` after."""
    import PIL.Image  # noqa: F401 - imported before the clock starts, as in a warm Lambda

    import caisse.media.pipeline  # noqa: F401

    data = Path(path).read_bytes()
    before = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    outputs = JOBS[job](data, workers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _peak_mb()
    written = 0
    for name, file in outputs:
        file.seek(0)
        written += (Path(outdir) / f"{name}.jpg").write_bytes(file.read())
        file.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "base_mb": before, "bytes": written}))


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, because ru_maxrss survives exec and would report the
    parent's size (the benchmark holds the generated images)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# --------------------------------------------------------------------------- sharp


def install_sharp() -> bool:
    """sharp as pinned in scripts/bench/sharp (package-lock.json), with `npm ci` into .bench/sharp
    when the lock changed. False when Node.js or npm is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("sharp left out: Node.js and npm are needed (Node.js 20 or later)")
        return False
    lock = (SHARP_SOURCE / "package-lock.json").read_bytes()
    stamp = SHARP_DIR / ".stamp"
    wanted = hashlib.sha256(lock + (SHARP_SOURCE / "package.json").read_bytes()).hexdigest()
    SHARP_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SHARP_SOURCE / "render.mjs", SHARP_DIR / "render.mjs")
    if stamp.exists() and stamp.read_text() == wanted:
        return True
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(SHARP_SOURCE / name, SHARP_DIR / name)
    print("installing sharp with npm ci into .bench/sharp ...", flush=True)
    subprocess.run(  # noqa: S603
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607
        cwd=SHARP_DIR,
        check=True,
        timeout=600,
    )
    stamp.write_text(wanted)
    return True


def install_pyvips() -> bool:
    """pyvips and libvips (the pyvips-binary wheel) as pinned in scripts/bench/pyvips, in a
    virtualenv of their own at .bench/pyvips, remade when the pins change. False if pip fails."""
    requirements = PYVIPS_SOURCE / "requirements.txt"
    stamp = PYVIPS_DIR / ".stamp"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return True
    shutil.rmtree(PYVIPS_DIR, ignore_errors=True)
    print("installing pyvips into .bench/pyvips ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(PYVIPS_DIR)], check=True)  # noqa: S603
    pip = [str(PYVIPS_DIR / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-r", str(requirements)], check=False, timeout=600)  # noqa: S603
    if done.returncode != 0:
        print("pyvips left out: pip could not install it")
        return False
    stamp.write_text(wanted)
    return True


def sharp_job(path: Path, workdir: Path) -> Path:
    """The job file for render.mjs: the renditions' exact sizes, qualities and watermark patch."""
    from PIL import Image, ImageOps

    from caisse.media.rules import RENDITIONS, fit
    from caisse.media.watermark import Watermark, placement

    with Image.open(path) as image:
        width, height = ImageOps.exif_transpose(image).size if _oriented(image) else image.size
        flatten = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    renditions = []
    for spec in RENDITIONS:
        w, h = fit(width, height, spec.long_edge)
        mark = None
        if spec.watermark:
            patch, (left, top) = placement(Watermark(text=MARK_TEXT), w, h)
            patch.save(workdir / "mark.png")
            mark = {"path": str(workdir / "mark.png"), "left": left, "top": top}
        renditions.append(
            {"name": spec.name, "width": w, "height": h, "quality": spec.quality, "progressive": spec.progressive}
            | {"watermark": mark}
        )
    job = workdir / "job.json"
    job.write_text(json.dumps({"input": str(path), "flatten": flatten, "renditions": renditions}))
    return job


def _oriented(image) -> bool:
    from PIL import ExifTags

    return image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)


# --------------------------------------------------------------------------- measuring


VARIANTS = [
    # name, kind, workers, CPUs
    ("straightforward Pillow", "straightforward", 1, 1),
    ("ours, 1 thread", "tuned", 1, 1),
    ("ours, 2 threads", "tuned", 2, 1),
    ("sharp, each from original", "plain", 1, 1),
    ("sharp, cascading", "cascade", 1, 1),
    ("pyvips, cascading", "vips-cascade", 1, 1),
    ("ours, 2 threads", "tuned", 2, 2),
]
OURS, SHARP_PLAIN, SHARP_CASCADE, PYVIPS_CASCADE = VARIANTS[1], VARIANTS[3], VARIANTS[4], VARIANTS[5]
SHARP_KINDS, PYVIPS_KINDS = ("plain", "cascade"), ("vips-cascade",)


def run_once(variant: tuple, path: Path, job: Path | None, outdir: Path) -> dict[str, float]:
    _, kind, workers, cpus = variant
    outdir.mkdir(parents=True, exist_ok=True)
    if kind in SHARP_KINDS + PYVIPS_KINDS:
        spec = json.loads(job.read_text()) | {"mode": kind.removeprefix("vips-"), "outdir": str(outdir)}
        spec_file = outdir / "job.json"
        spec_file.write_text(json.dumps(spec))
        if kind in SHARP_KINDS:
            command = ["node", str(SHARP_DIR / "render.mjs"), str(spec_file)]
        else:
            command = [str(PYVIPS_DIR / "bin" / "python"), str(PYVIPS_SOURCE / "render.py"), str(spec_file)]
    else:
        command = [sys.executable, __file__, "--child", kind, str(path), str(workers), str(outdir)]
    cpu = sorted(os.sched_getaffinity(0))[0]
    done = subprocess.run(  # noqa: S603 - ourselves or node, with our own arguments
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpus == 1 else None,  # noqa: PLW1509
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(variants: list[tuple], path: Path, job: Path | None, workdir: Path, runs: int) -> list[list[dict]]:
    """samples[round][variant index], every variant once per round in a shuffled order."""
    shuffler = random.Random(path.name)  # noqa: S311 - an order, not a secret
    rounds = []
    for _ in range(runs):
        order = list(range(len(variants)))
        shuffler.shuffle(order)
        results: dict[int, dict] = {}
        for index in order:
            results[index] = run_once(variants[index], path, job, workdir / f"v{index}")
        rounds.append([results[i] for i in range(len(variants))])
    return rounds


def references(path: Path) -> dict:
    """Each rendition made the slow, exact way: the oriented, flattened original resized once with
    LANCZOS, not encoded, the same watermark on the watermarked one."""
    from PIL import Image, ImageOps

    from caisse.media.rules import RENDITIONS, fit
    from caisse.media.watermark import Watermark, apply

    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA", "P"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        image = image.convert("RGB")
    out = {}
    for spec in RENDITIONS:
        rendition = image.resize(fit(image.width, image.height, spec.long_edge), Image.Resampling.LANCZOS)
        out[spec.name] = apply(rendition, Watermark(text=MARK_TEXT)) if spec.watermark else rendition
    return out


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio in dB of two RGB images of the same size (inf when identical)."""
    from PIL import ImageChops, ImageStat

    if a.size != b.size:
        return float("nan")
    mse = sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).sum2) / (3 * a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def qualities(outdir: Path, reference: dict, ours_dir: Path) -> tuple[list[float], float]:
    """(PSNR of each rendition against the reference, the lowest PSNR against ours)."""
    from PIL import Image

    against_ref, against_ours = [], []
    for name, ideal in reference.items():
        with Image.open(outdir / f"{name}.jpg") as made, Image.open(ours_dir / f"{name}.jpg") as ours:
            against_ref.append(psnr(made, ideal))
            against_ours.append(psnr(made, ours))
    return against_ref, min(against_ours)


def paired(rounds: list[list[dict]], a: int, b: int, key: str) -> float:
    return statistics.median(r[a][key] / r[b][key] for r in rounds)


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds per image (median)")
    parser.add_argument("--quick", action="store_true", help="one round each, without the 64 MP case")
    parser.add_argument("--no-sharp", action="store_true", help="leave sharp out")
    parser.add_argument("--no-pyvips", action="store_true", help="leave pyvips out")
    parser.add_argument("--child", nargs=4, metavar=("JOB", "PATH", "WORKERS", "OUTDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        job, path, workers, outdir = args.child
        child(job, path, int(workers), outdir)
        return 0
    runs = 1 if args.quick else args.runs
    available = len(os.sched_getaffinity(0))
    with_sharp = not args.no_sharp and install_sharp()
    with_pyvips = not args.no_pyvips and install_pyvips()
    variants = [
        v
        for v in VARIANTS
        if v[3] <= available and (with_sharp or v[1] not in SHARP_KINDS) and (with_pyvips or v[1] not in PYVIPS_KINDS)
    ]
    directory = Path(tempfile.mkdtemp(prefix="caisse-bench-images-"))
    try:
        print(f"generating images in {directory} ...", flush=True)
        cases = generate(directory, args.quick)
        python = sys.version.split()[0]
        sharp = json.loads((SHARP_DIR / "package.json").read_text())["dependencies"]["sharp"] if with_sharp else "-"
        print(
            f"median of {runs} rounds, every variant once per round in a shuffled order; Python {python}, sharp "
            f"{sharp}, {available} CPUs, load {load()}\n"
        )
        header = (
            f"{'image':<28} {'file MB':>7}  {'version':<26} {'CPUs':>4} {'wall s':>6} {'CPU s':>6} {'peak MB':>7} "
            f"{'out MB':>6}  PSNR dB vs reference (full wm prev thumb), lowest vs ours"
        )
        print(header)
        print("-" * len(header))
        summary = []
        for label, path in cases:
            workdir = directory / path.stem
            job = sharp_job(path, workdir.mkdir(parents=True) or workdir) if with_sharp or with_pyvips else None
            rounds = measure(variants, path, job, workdir, runs)
            reference = references(path)
            ours_dir = workdir / f"v{variants.index(OURS)}"
            for index, (name, _, _, cpus) in enumerate(variants):
                m = {key: statistics.median(r[index][key] for r in rounds) for key in rounds[0][index]}
                against_ref, against_ours = qualities(workdir / f"v{index}", reference, ours_dir)
                title, file_mb = (label, f"{path.stat().st_size / 1e6:.1f}") if index == 0 else ("", "")
                print(
                    f"{title:<28} {file_mb:>7}  {name:<26} {cpus:>4} {m['wall']:>6.2f} {m['cpu']:>6.2f} "
                    f"{m['peak_mb']:>7.0f} {m['bytes'] / 1e6:>6.1f}  "
                    + " ".join(f"{v:4.1f}" for v in against_ref)
                    + ("" if index == variants.index(OURS) else f"  {against_ours:4.1f}"),
                    flush=True,
                )
            if with_sharp:
                ours, plain, cascade = (variants.index(v) for v in (OURS, SHARP_PLAIN, SHARP_CASCADE))
                vips = variants.index(PYVIPS_CASCADE) if with_pyvips else None
                summary.append(
                    (
                        label,
                        paired(rounds, ours, cascade, "cpu"),
                        paired(rounds, ours, cascade, "peak_mb"),
                        paired(rounds, ours, plain, "cpu"),
                        paired(rounds, ours, plain, "peak_mb"),
                        paired(rounds, vips, cascade, "cpu") if vips is not None else math.nan,
                        paired(rounds, vips, cascade, "peak_mb") if vips is not None else math.nan,
                    )
                )
        print(f"\nload average at the end: {load()} (other work skews wall times more than CPU times)")
        if summary:
            print("\nours (1 thread, 1 CPU) / sharp (1 CPU), median of the ratios within each round")
            print(
                f"{'image':<28} {'CPU vs cascading':>16} {'memory vs cascading':>19} "
                f"{'CPU vs plain':>12} {'memory vs plain':>15}   {'pyvips cascading vs cascading: CPU, memory':>42}"
            )
            for label, cpu_c, mem_c, cpu_p, mem_p, cpu_v, mem_v in summary:
                print(
                    f"{label:<28} {cpu_c:>15.2f}x {mem_c:>18.2f}x {cpu_p:>11.2f}x {mem_p:>14.2f}x   "
                    f"{cpu_v:>33.2f}x {mem_v:>6.2f}x"
                )
            print("goal: CPU <= 0.80x the cascading sharp's, with less memory (below 1.00x)")
            print("pyvips: the same libvips as sharp, from Python, as the image function would run it with libvips")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
