// The renditions of scripts/bench_images.py made with sharp (libvips), the way a Node.js image
// function would, for comparison in the same run: `node render.mjs <job.json>`.
//
// job: {input, outdir, mode: "plain" | "cascade", flatten, renditions: [{name, width, height,
// quality, progressive, watermark: {path, left, top} | null}]}, largest first, sizes computed by
// the caller so both sides make exactly the same pixels.
//   plain:   each rendition from the original (sharp's own shrink-on-load for JPEG included)
//   cascade: decode once to the largest size, then each rendition from the one before it
// The clock starts once sharp is loaded and the file read, as in a warm function; printed: wall
// and CPU time (all threads), peak RSS of the whole process (VmHWM), bytes written.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const input = readFileSync(job.input);
const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;

function encode(pipeline, spec) {
  if (spec.watermark) {
    pipeline = pipeline.composite([{ input: spec.watermark.path, left: spec.watermark.left, top: spec.watermark.top }]);
  }
  // mozjpeg off: libjpeg-turbo's defaults, as Pillow's encoder; Huffman tables optimised like ours.
  return pipeline
    .jpeg({ quality: spec.quality, progressive: spec.progressive, optimiseCoding: true, mozjpeg: false })
    .toBuffer();
}

function fromOriginal(spec) {
  let pipeline = sharp(input, { limitInputPixels: false }).rotate().resize(spec.width, spec.height, { fit: "fill" });
  if (job.flatten) pipeline = pipeline.flatten({ background: "#ffffff" });
  return pipeline;
}

const fromRaw = ({ data, info }) =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });

async function plain() {
  const out = [];
  for (const spec of job.renditions) out.push(await encode(fromOriginal(spec), spec));
  return out;
}

async function cascade() {
  const out = [];
  let image = await fromOriginal(job.renditions[0]).raw().toBuffer({ resolveWithObject: true });
  for (const spec of job.renditions) {
    if (image.info.width !== spec.width || image.info.height !== spec.height) {
      image = await fromRaw(image)
        .resize(spec.width, spec.height, { fit: "fill" })
        .raw()
        .toBuffer({ resolveWithObject: true });
    }
    out.push(await encode(fromRaw(image), spec));
  }
  return out;
}

const base = peakMb();
const cpu = process.cpuUsage();
const started = performance.now();
const buffers = await (job.mode === "cascade" ? cascade() : plain());
const wall = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
const peak = peakMb();
job.renditions.forEach((spec, i) => writeFileSync(join(job.outdir, `${spec.name}.jpg`), buffers[i]));
console.log(
  JSON.stringify({
    wall,
    cpu: (used.user + used.system) / 1e6,
    peak_mb: peak,
    base_mb: base,
    bytes: buffers.reduce((sum, b) => sum + b.length, 0),
  }),
);
