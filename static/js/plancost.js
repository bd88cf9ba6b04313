// What the planned sweep will cost before it starts: time and disk space, estimated from the newest
// burst this mode made (its bytes and capture time per frame), with the settle delay for stills; until
// there is one, from the live view as it comes now (its frame size and rate). postfocus.js writes the
// frame count into #frame-plan's data-frames; this module reads it there.
import { $, api, cameraPath, on } from "./core.js";

const node = $("#plan-cost");
const plan = $("#frame-plan");
let bursts = null; // the gallery's summaries, fetched once and again after each sweep
let liveRate = 0;

const megabytes = (bytes) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(0.1, bytes / 1e6).toFixed(1)} MB`);
const duration = (s) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(1, Math.round(s))} s`);

async function perFrame(mode) {
  bursts ??= await api("GET", "/api/bursts").catch(() => []);
  const last = bursts.find((b) => b.sweep && b.sweep.mode === mode && b.frame_count > 1 && b.summary
    && b.summary.capture_seconds && !b.summary.merged);
  if (last) {
    return { bytes: last.bytes / last.frame_count, seconds: last.summary.capture_seconds / (last.frame_count - 1),
      basis: "your last sweep in this mode" };
  }
  if (mode !== "liveview" || !liveRate) return null;
  const frame = await fetch(`${cameraPath()}/live.jpg`).then((r) => r.blob()).catch(() => null);
  return frame && { bytes: frame.size, seconds: 1 / liveRate, basis: "the live view now" };
}

let asked = 0;
async function show() {
  const frames = Number(plan.dataset.frames || 0);
  const mine = ++asked;
  if (!frames) { node.textContent = ""; return; }
  const mode = $("#mode").value;
  const cost = await perFrame(mode);
  if (mine !== asked) return;
  if (!cost) { node.textContent = `time and size: known after the first ${mode} sweep`; return; }
  const settle = mode === "stills" ? Number($("#settle").value || 0) : 0;
  const seconds = frames * (cost.seconds + settle);
  node.dataset.seconds = String(Math.round(seconds));
  node.dataset.bytes = String(Math.round(frames * cost.bytes));
  node.textContent = `about ${duration(seconds)} and ${megabytes(frames * cost.bytes)} (from ${cost.basis})`;
}

new MutationObserver(show).observe(plan, { attributes: true, attributeFilter: ["data-frames"] });
$("#mode").addEventListener("change", show);
$("#settle").addEventListener("input", show);
on("liveview.fps", (ev) => { if (ev.fps) liveRate = ev.fps; });
on("burst.added", () => { bursts = null; show(); });
