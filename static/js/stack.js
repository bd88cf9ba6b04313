// The Stack page: all frames or a range (sliders, or tap a near and a far point), method, format;
// progress; the result beside a single frame; download; depth map; retouching the result (retouch.js).
import { $, $$, FINISHED, api, attempt, connect, el, frameNumber, on, state, toast } from "./core.js";
import { follow } from "./jobs.js";
import { keyboardCursor } from "./cursor.js";
import { imagePoint } from "./imagetools.js";
import { FrameViewer } from "./viewer.js";
import { Zoom, tileQuery, zoomControls } from "./zoom.js";
import { retouch } from "./retouch.js";

connect();
const burstId = document.body.dataset.burst;
const first = $("#range-first");
const last = $("#range-last");
let viewer = null;
let picking = null;
let currentJob = null;
let shownExport = null; // the export of the stack the caption and the download link are of
let stackedExport = null; // the export of the stack whose job the status line tells of
const touch = retouch(burstId, {
  showFrame: (n) => {
    viewer.show(n);
    $("#single-caption").textContent = `single frame ${frameNumber(n)}: the brush copies from it`;
  },
  onPicture: () => {
    resultZoom?.refresh();
    viewer?.zoom?.apply(); // a new picture takes the linked view
    touch.kept().then(labelDownload);
  },
  // the burst's stack as it was made, from what the server keeps with it; the page's own stack is shown already
  onStack: (layer) => { if (layer.about.export !== shownExport) showKept(layer); },
});
keyboardCursor($("#single"), "picks the point there (after Tap a near and a far point)");

const extent = () => $$("input[name=extent]").find((r) => r.checked).value;

function showRange() {
  if (Number(first.value) > Number(last.value)) [first.value, last.value] = [last.value, first.value];
  $("#range-label").textContent = `frames ${frameNumber(Number(first.value))}–${frameNumber(Number(last.value))}`;
  // a screen reader would say the sliders' values, which count from 0
  for (const input of [first, last]) input.setAttribute("aria-valuetext", `frame ${frameNumber(Number(input.value))}`);
  $("#range-controls").classList.toggle("disabled", extent() !== "range");
}

async function init() {
  const detail = await attempt(() => api("GET", `/api/bursts/${burstId}`));
  if (!detail) return;
  const count = detail.frames.length;
  const width = detail.frames[0]?.width || 0;
  for (const input of [first, last]) input.max = String(count - 1);
  last.value = String(count - 1);
  const size = width ? { width, height: detail.frames[0].height } : null;
  viewer = new FrameViewer(burstId, $("#single"), { reduce: width > 2400 ? 4 : width > 1200 ? 2 : 1, size });
  linkZooms(viewer.enableZoom(), size);
  await viewer.show(Math.floor(count / 2));
  $("#single-caption").textContent = `single frame ${frameNumber(Math.floor(count / 2))} of ${count}`;
  showRange();
  touch.setFrames(count);
  touch.load(); // the burst's last stack, kept as the retouch layer's base through a reload and a restart
}

// The stack the retouch layer paints on (after a reload, a new stack, a restore here or in another browser) as
// it was made: its caption, range and method. A stack kept before the layer held its frame count and crop counts
// its range. The status line and bar said how another stack's job ended: they go, unless that is this stack.
async function showKept(layer) {
  const { range, method, slabs, export: exportId, frames = range[1] - range[0] + 1, uncovered } = layer.about;
  const exported = (await api("GET", "/api/exports").catch(() => [])).find((e) => e.id === exportId);
  if (exportId !== stackedExport && !currentJob) {
    $("#stack-status").textContent = "";
    $("#stack-progress").hidden = true;
  }
  showStack({ export: exportId, name: exported?.name, method, range, slabs, frames, uncovered });
  labelDownload(layer);
}

// The link under the picture says what it downloads: the stack as it was made, which the retouched picture
// shown is not once it has strokes (Export full size makes that one).
function labelDownload(layer) {
  const link = $("#download");
  const strokes = layer?.strokes.length || 0;
  link.textContent = `Download ${link.dataset.name}` + (strokes
    ? ` (the stack without the ${strokes} retouch stroke${strokes > 1 ? "s" : ""}: Export full size gives the retouched one)` : "");
}

// A stack job's result (or the stack kept in the burst): its range and method on the controls (so that they say
// what is shown), its caption and download link.
function showStack(result) {
  if ([...$("#method").options].some((o) => o.value === result.method)) $("#method").value = result.method;
  if (result.range) {
    const whole = result.range[0] === 0 && result.range[1] === Number(last.max);
    $$("input[name=extent]").find((r) => r.value === (whole ? "all" : "range")).checked = true;
    [first.value, last.value] = result.range.map(String);
    showRange();
  }
  $("#result-caption").textContent = `stack of ${result.frames} frames (${result.method}${result.slabs ? `, ${result.slabs} slabs` : ""}` +
    `${result.range ? `, frames ${frameNumber(result.range[0])}–${frameNumber(result.range[1])}` : ""})`;
  if (result.uncovered > 0) $("#result-caption").textContent += `; every frame covers all but ${(100 * result.uncovered).toFixed(1)} % at the edges (filled from the nearest pixels: crop it off)`;
  shownExport = result.export;
  const link = $("#download");
  link.href = `/api/exports/${result.export}`;
  link.dataset.name = result.name;
  link.textContent = `Download ${result.name}`;
  link.hidden = !result.name; // a kept stack's export may have been deleted since
}

for (const input of [first, last]) {
  input.addEventListener("input", () => {
    $$("input[name=extent]").find((r) => r.value === "range").checked = true;
    showRange();
    viewer.show(Number(input.value));
    $("#single-caption").textContent = `single frame ${frameNumber(Number(input.value))}`;
  });
}
$$("input[name=extent]").forEach((r) => r.addEventListener("change", showRange));

// Tap a near and a far point: each tap asks the refocus map for its frame; the two give the range.
$("#pick-points").addEventListener("click", async () => {
  const prepared = await attempt(() => api("POST", `/api/bursts/${burstId}/refocus-map`));
  if (!prepared) return;
  if (!prepared.ready) await follow(prepared.job, { status: "#stack-status" }).catch((err) => toast(err.message, "error"));
  picking = [];
  $("#stack-status").textContent = "Tap the nearest point to keep sharp…";
  // on a phone the picture to tap is below the controls, out of sight
  $("#single").scrollIntoView({ block: "nearest" });
});
$("#single").addEventListener("click", async (event) => {
  if (!picking || viewer.zoom.gesturing()) return;
  const point = imagePoint($("#single"), event);
  if (!point) return;
  const answer = await attempt(() => api("GET", `/api/bursts/${burstId}/refocus?x=${point.x.toFixed(5)}&y=${point.y.toFixed(5)}`));
  if (!answer) return;
  if (answer.moving) {
    $("#stack-status").textContent = "That is a moving subject: tap something that stood still…";
    return;
  }
  picking.push(answer.frame);
  if (picking.length === 1) {
    $("#stack-status").textContent = `near point: frame ${frameNumber(answer.frame)}. Now tap the farthest point…`;
    return;
  }
  const [a, b] = picking.sort((x, y) => x - y);
  first.value = String(a);
  last.value = String(b);
  $$("input[name=extent]").find((r) => r.value === "range").checked = true;
  picking = null;
  showRange();
  $("#stack-status").textContent = `range set from the two points: frames ${frameNumber(a)}–${frameNumber(b)}`;
});

$("#stack").addEventListener("click", async () => {
  const body = { method: $("#method").value, format: $("#format").value };
  if (extent() === "range") body.range = [Number(first.value), Number(last.value)];
  if ($("#slabs").value !== "0") body.slabs = Number($("#slabs").value); // the API's rule, and its refusal
  const started = await attempt(() => api("POST", `/api/bursts/${burstId}/stack`, body));
  if (started) watchStack(started.job);
});

async function watchStack(jobId) {
  if (currentJob === jobId) return;
  currentJob = jobId;
  $("#stack").disabled = true;
  $("#stack-cancel").hidden = false;
  $("#stack-progress").hidden = false;
  const before = touch.kept().then((layer) => layer?.stack); // to tell, if the server restarts, whether it kept this one
  let lost = false;
  const done = await follow(jobId, { bar: "#stack-bar", status: "#stack-status" })
    .catch((err) => { lost = Boolean(err.lost); if (!lost) toast(err.message, "error"); return null; });
  $("#stack").disabled = false;
  $("#stack-cancel").hidden = true;
  $("#stack-progress").hidden = !done; // full, it says done; a bar cut short (a restart, a cancel) says nothing true
  currentJob = null;
  if (lost) return stackLost(await before);
  if (!done || !done.result) return;
  const result = done.result;
  stackedExport = result.export;
  showStack(result);
  if (result.warnings?.length) toast(result.warnings.join("; "), "error");
  showMotionMap(result.motion_map);
  // The new stack is the base of a new retouch layer, which retouch.js loads at the job's end and shows (the
  // picture, then the strokes on it): the picture is the export's only when the burst could not keep it.
  if ((await touch.kept())?.about.export === result.export) return;
  $("#result").src = `/api/exports/${result.preview || result.export}?inline=1`;
  $("#result").hidden = false;
  $("#result").dataset.export = result.export;
  await $("#result").decode().catch(() => null);
  resultZoom?.refresh();
  viewer?.zoom.apply();  // the stack takes the single frame's view (an adopted stack may end before the page is drawn)
}

// A stack of this burst running when the page was (re)loaded, or started by another browser: followed here too,
// once the page knows its burst and the stack it had (a reload's snapshot comes before that).
function adopt(job) {
  if (job.job_kind === "stack" && job.subject === burstId && !FINISHED.has(job.state)) {
    ready.then(() => { if (!currentJob) watchStack(job.job); });
  }
}
on("job.progress", adopt);
on("snapshot", () => { for (const job of state.jobs.values()) adopt(job); });

// The server restarted while stacking: the stack is lost unless it was finished and kept before the server
// stopped (the burst then holds a new one).
async function stackLost(before) {
  const layer = await touch.kept(); // loaded again on reconnecting (retouch.js), and shown if it is new
  if (layer && layer.stack !== before) {
    $("#stack-status").textContent = "The server restarted after the stack was made: it is shown.";
  } else {
    $("#stack-status").textContent = "The server restarted: the stack was interrupted; run it again.";
  }
}

$("#stack-cancel").addEventListener("click", () => currentJob && attempt(() => api("POST", `/api/jobs/${currentJob}/cancel`)));

// The stack and the single frame zoom together (the same place at the same percentage), so halos and
// lost detail show side by side at 100 %; the stack's tiles come from the exported picture itself.
let resultZoom = null;
function linkZooms(frameZoom, size) {
  const result = $("#result");
  resultZoom = new Zoom(result, {
    fullSize: () => size || { width: result.naturalWidth, height: result.naturalHeight },
    tileUrl: (box, reduce) => (result.dataset.export ? `/api/exports/${result.dataset.export}/tile.jpg?${tileQuery(box, reduce)}` : null),
  });
  frameZoom.link(resultZoom);
  $("#single-caption").after(zoomControls(frameZoom, { id: "zoom" }));
}

$("#show-depth").addEventListener("click", () => {
  const img = $("#result");
  img.src = `/api/bursts/${burstId}/depthmap.png?t=${Date.now()}`;
  delete img.dataset.export;  // the depth map has no tiles: zooming it enlarges what is shown
  img.hidden = false;
  img.onerror = () => toast("No depth map yet: it is made with the refocus map (open Refocus, or stack first).", "error");
  $("#result-caption").textContent = "depth map (near = bright)";
});

// A moving subject was taken from one frame: offer its map (white = moving) beside the stack.
function showMotionMap(exportId) {
  $("#motion-map")?.remove();
  if (!exportId) return;
  const link = el("a", { id: "motion-map", href: `/api/exports/${exportId}`, target: "_blank" },
    "Motion map (moving subjects, each from one frame)");
  $("#download").after(link);
}

// The burst deleted (from the gallery, in this browser or another): nothing more can be done with it here.
on("burst.deleted", (ev) => {
  if (ev.burst !== burstId) return;
  $(".stack-side").inert = true;
  $("#show-depth").disabled = true;
  $("#retouch-canvas").hidden = true;
  $("#stack-status").textContent = `Burst ${burstId} was deleted (from the gallery): it can no longer be stacked or ` +
    "retouched here. What was exported from it is still in Exports.";
});

const ready = init();
