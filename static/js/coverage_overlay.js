// Coverage you can see (Post Focus, after a sweep): the burst's middle frame with the tiles the coverage
// check found drawn over it (the subject's sharpest focus nearer than the first frame, farther than the
// last, between two frames; never sharp), the duplicated frames listed, and one-click fixes
// that sweep a little more and merge the frames into the burst in focus order (the server plans, sweeps and
// merges). Frames too far apart for the depth of field are never called covered, marked tiles or not.
import { $, api, attempt, cameraId, el, frameNumber, on, state, toast } from "./core.js";
import { follow } from "./jobs.js";

const KINDS = [
  ["beyond_near", "rgba(80,160,255,0.45)", "sharpest nearer than the first frame"],
  ["beyond_far", "rgba(255,150,40,0.45)", "sharpest farther than the last frame"],
  ["between", "rgba(200,80,255,0.45)", "between two frames: sharp in neither"],
  ["never_sharp", "rgba(255,60,60,0.5)", "never sharp in any frame"],
];
const node = $("#coverage-map");

async function show(burstId) {
  const burst = await api("GET", `/api/bursts/${burstId}`).catch(() => null);
  const coverage = burst && burst.summary && burst.summary.coverage;
  if (!coverage || burst.frames.length < 2) { node.hidden = true; return burst; }
  const positions = burst.frames.map((f) => f.focus_position);
  const gaps = positions.slice(1).map((p, i) => p - positions[i]).filter((g) => g > 0).sort((a, b) => a - b);
  const gap = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 4;
  const middle = burst.frames[Math.floor(burst.frames.length / 2)];
  const reduce = middle.width > 2000 ? 4 : middle.width > 1000 ? 2 : 1;
  const img = el("img", { src: `/api/bursts/${burstId}/frames/${middle.index}.jpg?reduce=${reduce}`,
    alt: "the middle frame of the sweep" });
  const canvas = el("canvas", { class: "coverage-tiles", role: "img",
    "aria-label": "coverage: the parts of the picture no frame of the sweep shows sharp" });
  img.addEventListener("load", () => draw(canvas, img, coverage));
  const marked = Object.fromEntries(KINDS.map(([kind]) => [kind, coverage[kind] || []]));
  const fixes = [];
  for (const [toward, kind, words] of [["near", "beyond_near", "near"], ["far", "beyond_far", "infinity"]]) {
    if (!marked[kind].length) continue;
    const steps = el("input", { type: "number", min: "1", value: String(4 * gap), class: "fix-steps",
      "aria-label": `steps to extend toward ${words}` });
    fixes.push(el("span", { class: "fix" }, el("button", { type: "button", class: "fix-extend", dataset: { toward },
      onclick: () => run(burstId, "extend", { toward, steps: Number(steps.value) }) }, `Extend toward ${words} by`),
    " ", steps, " steps"));
  }
  for (const [a, b] of coverage.duplicates || []) {
    fixes.push(el("button", { type: "button", class: "fix-gap", dataset: { after: String(a) },
      onclick: () => run(burstId, "reshoot", { after: a }) }, `Re-shoot the gap between frames ${frameNumber(a)} and ${frameNumber(b)}`));
  }
  const legend = KINDS.filter(([kind]) => marked[kind].length).map(([kind, colour, words]) =>
    el("li", {}, el("span", { class: "swatch", style: `background:${colour}` }),
    ` ${marked[kind].length} tile${marked[kind].length > 1 ? "s" : ""} ${words}`));
  if (coverage.sparse) {
    legend.push(el("li", {}, "The frames are too far apart for the depth of field: some depths are sharp in no frame."));
  }
  const clean = !legend.length && !(coverage.duplicates || []).length;
  node.dataset.burst = burstId;
  node.dataset.tiles = JSON.stringify(marked);
  node.dataset.clean = String(clean);
  node.replaceChildren(
    el("figure", { class: "coverage-figure" }, img, canvas),
    clean ? el("p", { class: "ok" }, `Every subject has a sharp frame (${burst.frames.length} frames).`)
      : el("ul", { class: "coverage-legend" }, legend),
    el("div", { class: "toolbar" }, fixes),
    el("p", { class: "status", id: "fix-status" }));
  node.hidden = false;
  return burst;
}

function draw(canvas, img, coverage) {
  const [rows, cols] = coverage.grid || [9, 16];
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  const w = canvas.width / cols, h = canvas.height / rows;
  ctx.lineWidth = Math.max(1, canvas.width / 400);
  for (const [kind, colour] of KINDS) {
    ctx.fillStyle = colour;
    ctx.strokeStyle = colour.replace(/[\d.]+\)$/, "1)"); // the same colour, opaque, outlines each tile
    for (const [r, c] of coverage[kind] || []) {
      ctx.fillRect(c * w, r * h, w, h);
      ctx.strokeRect(c * w + 1, r * h + 1, w - 2, h - 2);
    }
  }
}

async function run(burstId, fix, body) {
  for (const button of node.querySelectorAll("button")) button.disabled = true;
  const started = await attempt(() => api("POST", `/api/bursts/${burstId}/${fix}`, body));
  if (!started) { show(burstId); return; }
  // the job's end redraws the map (below), in every browser showing this burst
  await follow(started.job, { status: "#fix-status" }).catch((err) => {
    toast(`Re-shoot: ${err.message}`, "error");
    show(burstId);
  });
}

// A sweep of this camera ended (here or in another browser): its coverage, drawn; a fix's reshoot job
// says when the burst has changed.
// a page reloaded after a sweep shows its coverage again, with the warnings as the sweep gave them (its
// pre-scan's, then its coverage's, as the burst is now: a fix since may have merged frames). They go with
// the overlay: the page's own warnings line is the plan's for the next sweep, once a pre-scan is shown.
on("snapshot", async () => {
  const last = state.cameras.get(cameraId())?.last_sweep; // the server's record of it (tether/engine/engine.py)
  if (!last || !node.hidden) return;
  const burst = await show(last.burst);
  const warnings = [...(burst?.sweep?.prescan?.warnings || []), ...(burst?.summary?.coverage?.warnings || [])];
  if (!node.hidden) node.append(el("div", { class: "warnings" }, ...warnings.map((w) => el("p", { class: "warning" }, w))));
});
on("job.done", (job) => {
  const burst = job.result && job.result.burst;
  if (job.job_kind === "sweep" && job.subject === cameraId() && burst) show(burst);
  if (job.job_kind === "reshoot" && node.dataset.burst === burst) {
    // the warnings of the merged burst replace those its extra sweep had on its own
    $("#coverage").replaceChildren(...(job.result.warnings || []).map((w) => el("p", { class: "warning" }, w)));
    show(burst);
  }
});
