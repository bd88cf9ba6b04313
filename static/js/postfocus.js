// The Post Focus page: pre-scan (contrast curves, range found and adjustable), mode, frame plan,
// sweep with live progress, frames and the stack (stackpreview.js) appearing as they arrive, coverage warnings. Any browser
// sees a sweep that another one started.
import { $, $$, FINISHED, api, attempt, cameraId, cameraPath, connect, el, frameNumber, on, state, toast } from "./core.js";
import { startLiveView } from "./liveview.js";
import { follow } from "./jobs.js";
import "./rangepick.js";
import "./coverage_overlay.js";
import "./plancost.js";
import { resetStackPreview, showKeptPreview, showLivePreview } from "./stackpreview.js";

connect();
startLiveView();
let prescan = null;
let sweepJob = null;
let sweepBurst = null;
let shownSweep = null; // the job id of the sweep the page shows (running, or its result)
let sweepFrames = 0; // frames seen arriving, for a sweep that ends without a result (an error)
let prescanJob = null;


// ---- pre-scan -------------------------------------------------------------------------------
$("#prescan").addEventListener("click", async () => {
  const started = await attempt(() => api("POST", `${cameraPath()}/prescan`, {}));
  if (started) watchPrescan(started.job);
});
$("#prescan-cancel").addEventListener("click", () => prescanJob && attempt(() => api("POST", `/api/jobs/${prescanJob}/cancel`)));

async function watchPrescan(jobId) {
  if (prescanJob === jobId) return;
  prescanJob = jobId;
  delete $("#curves").dataset.ready; // the curves shown are the last pre-scan's, soon replaced
  $("#prescan-progress").hidden = false;
  $("#prescan-cancel").hidden = false;
  $("#prescan").disabled = true;
  const done = await follow(jobId, { bar: "#prescan-bar" }).catch((err) => { toast(err.message, "error"); return null; });
  $("#prescan-cancel").hidden = true;
  $("#prescan").disabled = false;
  prescanJob = null;
  if (done && done.result) showPrescan(done.result);
}

// ``keepRange``: a pre-scan remembered from before a reload, whose range the inputs may already have changed.
function showPrescan(result, { keepRange = false } = {}) {
  prescan = result;
  const range = result.range || [result.near, result.far];
  if (!keepRange || $("#range-near").value === "" || $("#range-far").value === "") {
    [$("#range-near").value, $("#range-far").value] = range;
  }
  if (result.reached_far_stop && result.far_stop) limitRange(result.far_stop);
  $("#curves").dataset.ready = "true";
  drawCurves();
  showPlan();
}

// Per-tile contrast against focus position, with the chosen range shaded.
function drawCurves() {
  const canvas = $("#curves");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (!prescan) return;
  const positions = prescan.positions || [];
  // curves come as rows x cols x positions; the peaks say which tiles hold a subject
  const subject = new Set((prescan.peaks || []).filter((p) => p.subject).map((p) => `${p.row},${p.col}`));
  const curves = [];
  (prescan.curves || []).forEach((row, r) => row.forEach((values, c) =>
    curves.push({ values, flat: subject.size > 0 && !subject.has(`${r},${c}`) })));
  if (!positions.length) return;
  const lo = Math.min(...positions), hi = Math.max(...positions);
  const x = (p) => ((p - lo) / Math.max(1, hi - lo)) * (w - 10) + 5;
  Object.assign(canvas.dataset, { lo, hi }); // rangepick.js drags the range on this scale
  const near = Number($("#range-near").value), far = Number($("#range-far").value);
  ctx.fillStyle = "rgba(80,160,255,0.18)";
  ctx.fillRect(x(near), 0, Math.max(2, x(far) - x(near)), h);
  for (const curve of curves) {
    const values = curve.values || curve;
    const peak = Math.max(...values) || 1;
    ctx.strokeStyle = curve.flat ? "rgba(160,160,160,0.25)" : "rgba(255,200,80,0.6)";
    ctx.beginPath();
    values.forEach((v, i) => {
      const px = x(positions[i]), py = h - 5 - (v / peak) * (h - 10);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
  ctx.fillStyle = "#ddd";
  ctx.fillText(`near ${near}`, x(near) + 3, 12);
  ctx.fillText(`far ${far}`, Math.min(w - 50, x(far) + 3), 24);
}

// The plan as the sweep will make it, from the server's planner: frames spaced by the depth of
// field the pre-scan measured (or the frame count asked for) over the chosen range.
let planRequest = 0;
// A pre-scan or a sweep that ran into the lens's far end stop measured how far the focus goes: Near and
// Far stay inside it (past it every frame is the same picture).
function limitRange(farStop) {
  for (const input of [$("#range-near"), $("#range-far")]) input.max = String(Math.floor(farStop));
}

// What is wrong with the range as typed (a sweep is not started with it), or "" if nothing.
function rangeProblem() {
  const nearInput = $("#range-near"), farInput = $("#range-far");
  const near = Number(nearInput.value), far = Number(farInput.value);
  const stop = farInput.max === "" ? Infinity : Number(farInput.max);
  let problem = "";
  if (far < near) problem = `Far (${far}) is nearer than Near (${near}): swap them, or change one`;
  else if (far > stop || near > stop) {
    problem = `the lens's far stop is at about ${stop} steps: past it every frame would be ` +
      `the same picture; keep Near and Far at ${stop} or less`;
  }
  for (const input of [nearInput, farInput]) input.setCustomValidity(problem);
  $("#sweep").disabled = Boolean(problem) || sweepJob !== null;
  return problem;
}

async function showPlan() {
  const near = Number($("#range-near").value), far = Number($("#range-far").value);
  if ($("#range-near").value === "" || $("#range-far").value === "") return;
  const node = $("#frame-plan");
  const problem = rangeProblem();
  if (problem) {
    planRequest++; // an answer still on its way is for the range before this one
    delete node.dataset.frames;
    node.textContent = problem;
    return;
  }
  const body = { range: [near, far] };
  if (Number($("#frames").value) >= 2) body.frames = Number($("#frames").value);
  if (prescan && prescan.dof_spacing) body.dof = prescan.dof_spacing;
  if (prescan && prescan.scale) {
    if (prescan.scale.medium) body.medium = prescan.scale.medium;
    if (prescan.scale.large) body.large = prescan.scale.large;
  }
  const mine = ++planRequest;
  const plan = await api("POST", "/api/plan", body).catch((err) => ({ error: err.message }));
  if (mine !== planRequest) return; // a newer edit is being planned
  if (plan.error) { node.textContent = plan.error; return; }
  node.dataset.frames = String(plan.frames);
  // the count is said once; the planner's reason starts with it when a frame count was asked for
  const said = `${plan.frames} frames`;
  const reason = plan.reason.startsWith(said)
    ? plan.reason.slice(said.length).replace(/^[ ,]+/, "").replace(/^\((.*)\)$/, "$1") : plan.reason;
  let text = `${said} from ${plan.start} to ${Math.round(plan.end)}, ${plan.count} ${plan.step_class} step${plan.count > 1 ? "s" : ""} apart (${plan.spacing} small steps)${reason ? ` — ${reason}` : ""}`;
  if (prescan && prescan.subjects !== undefined) text += ` · ${prescan.subjects} subject tiles`;
  // where the frames lie when not end to end on Near and Far ("the first frame is at 22, 3 steps before Near…")
  if (plan.note) text += `. ${plan.note[0].toUpperCase()}${plan.note.slice(1)}`;
  node.textContent = text;
  const warnings = [...((prescan && prescan.warnings) || []), ...(plan.warnings || [])];
  showWarnings(warnings);
}
["#range-near", "#range-far"].forEach((s) => $(s).addEventListener("input", () => { drawCurves(); showPlan(); }));
$("#frames").addEventListener("input", showPlan);

// ---- sweep ------------------------------------------------------------------------------------
$("#sweep").addEventListener("click", async () => {
  const body = { mode: $("#mode").value };
  const near = $("#range-near").value, far = $("#range-far").value;
  if (near !== "" && far !== "") body.range = [Number(near), Number(far)];
  if ($("#frames").value) body.frames = Number($("#frames").value);
  if (!$("#settle").disabled && Number($("#settle").value) > 0) body.settle_seconds = Number($("#settle").value);
  const links = [...$("#sweep-result").childNodes];
  $("#sweep-result").replaceChildren(); // the last sweep's links go as soon as a new one is asked for
  const started = await attempt(() => api("POST", `${cameraPath()}/sweep`, body));
  if (!started) { $("#sweep-result").replaceChildren(...links); return; } // refused: the last sweep's stay
  watchSweep(started.job, started.burst);
  // Start lies below the live view on a phone: bring the progress, and its Cancel, onto the screen
  $("#sweep-progress").scrollIntoView({ block: "nearest" });
});
$("#sweep-cancel").addEventListener("click", () => sweepJob && attempt(() => api("POST", `/api/jobs/${sweepJob}/cancel`)));

async function watchSweep(jobId, burstId) {
  if (sweepJob === jobId) return;
  sweepJob = shownSweep = jobId;
  sweepBurst = burstId || null;
  sweepFrames = 0;
  $("#sweep-progress").hidden = false;
  $("#sweep-cancel").hidden = false;
  $("#sweep").disabled = true;
  // a new sweep starts from nothing: not from where the last one's bar and status ended
  fillBar(0);
  $("#sweep-status").textContent = "Sweep: starting…";
  $("#sweep-frames").replaceChildren();
  resetStackPreview();
  $("#coverage").replaceChildren();
  $("#coverage-map").hidden = true; // the last sweep's coverage is not this one's
  $("#sweep-result").replaceChildren();
  // a cancel is what the photographer asked for, not a failure: the job says what it kept; a sweep lost
  // with a restarted server is said in the status line (sweepLost)
  let lost = false;
  const done = await follow(jobId, { bar: "#sweep-bar", status: "#sweep-status" })
    .catch((err) => {
      lost = Boolean(err.lost);
      if (!lost && err.job?.state !== "cancelled") toast(`Sweep: ${err.message}`, "error");
      return err.job || null;
    });
  $("#sweep-cancel").hidden = true;
  sweepJob = null;
  if (lost) return sweepLost();
  const result = (done && done.result) || {};
  if (result.far_stop) limitRange(result.far_stop);
  if (rangeProblem()) showPlan(); // says why the range as it stands cannot be swept again
  const kept = result.frames ?? sweepFrames;
  if (done && done.state === "cancelled") $("#sweep-status").textContent = ended("cancelled", kept);
  if (sweepBurst && kept > 0) showLinks(sweepBurst);
  showWarnings(result.warnings || (result.coverage && result.coverage.warnings) || []);
}

// The server restarted during the sweep: it stopped there, and its burst keeps the frames taken.
function sweepLost() {
  rangeProblem(); // Start sweep again, unless the range as it stands cannot be swept
  return showBurst("interrupted");
}

function fillBar(fraction) {
  const bar = $("#sweep-bar");
  bar.style.width = `${100 * fraction}%`;
  bar.dataset.fraction = String(fraction);
}

// What the status line says of a sweep that ended ``state`` with ``kept`` frames in its burst.
function ended(state, kept, { error = "", merged = false } = {}) {
  const frames = `${kept} frame${kept > 1 ? "s" : ""}`;
  if (state === "interrupted") {
    return kept ? `The server restarted: the sweep stopped after ${frames} (kept in the burst).`
      : "The server restarted: the sweep stopped before its first frame; no burst was kept.";
  }
  if (state === "cancelled") {
    return kept ? `Sweep cancelled after ${frames}; they are kept in the burst.`
      : "Sweep cancelled before its first frame; no burst was kept.";
  }
  if (state === "error") return `Sweep: ${error}${kept ? ` (${frames} kept in the burst)` : ""}`;
  return `Sweep: done — ${frames}${merged ? ", with those a fix added" : ""}`;
}

// The sweep's burst as it is now (the burst says how many frames: more may have come than the page saw before
// the server went away, and a fix may have merged more in): its status, frame strip, stack preview and links.
async function showBurst(state, { error = "" } = {}) {
  const burstId = sweepBurst;
  const detail = burstId ? await api("GET", `/api/bursts/${burstId}`).catch(() => null) : null;
  if (burstId !== sweepBurst) return; // another sweep started meanwhile
  const kept = detail ? detail.frames.length : 0;
  $("#sweep-progress").hidden = false;
  if (state === "done") fillBar(1); // (a reloaded page's bar starts empty)
  $("#sweep-status").textContent = ended(state, kept, { error, merged: Boolean(detail?.sweep?.merged) });
  $("#sweep-frames").replaceChildren();
  resetStackPreview();
  $("#sweep-result").replaceChildren();
  if (!kept) return;
  showThumbs(kept - 1);
  showKeptPreview(burstId, kept);
  showLinks(burstId);
}

function showLinks(burstId) {
  $("#sweep-result").replaceChildren(
    el("a", { href: `/refocus/${burstId}`, id: "open-refocus" }, "Refocus this burst"), " · ",
    el("a", { href: `/stack/${burstId}` }, "Stack it"));
}

function showWarnings(warnings) {
  $("#coverage").replaceChildren(...warnings.map((w) =>
    el("p", { class: "warning" }, typeof w === "string" ? w : `${w.message}${w.suggestion ? ` — ${w.suggestion}` : ""}`)));
}

// the strip keeps the latest frames only: a sweep of hundreds would fill the page
const STRIP_FRAMES = 60;

// Frames appearing as they arrive: each one as the burst holds it (the frame captured, not the live
// view of that moment, which a still or movie sweep does not show and a reloaded page has not got).
// Only the sweep the page shows: not a coverage fix's extra sweep, whose frames go into its burst.
on("sweep.frame", (ev) => {
  if (ev.job !== sweepJob) return;
  if (ev.burst) sweepBurst = ev.burst;
  sweepFrames += 1;
  showThumbs(ev.index);
});

// The strip up to frame ``upTo`` of the sweep's burst.
function showThumbs(upTo) {
  const strip = $("#sweep-frames");
  const thumb = (i) => el("figure", { dataset: { index: String(i) } },
    el("img", { src: `/api/bursts/${sweepBurst}/frames/${i}.jpg?reduce=8`, class: "frame-thumb", alt: `frame ${frameNumber(i)}` }),
    el("figcaption", {}, String(frameNumber(i))));
  // from the last one shown: a page opened (or reloaded) mid-sweep gets the frames taken before too
  const last = strip.lastElementChild ? Number(strip.lastElementChild.dataset.index) : -1;
  for (let i = Math.max(last + 1, upTo - (STRIP_FRAMES - 1)); i <= upTo; i++) strip.append(thumb(i));
  while (strip.children.length > STRIP_FRAMES) strip.firstChild.remove();
  strip.scrollLeft = strip.scrollWidth;
}

on("sweep.preview", (ev) => { if (ev.job === sweepJob) showLivePreview(ev); });

// A fix merged frames into the burst shown: the page shows the burst as it is now.
on("job.done", (job) => {
  if (job.job_kind === "reshoot" && job.result?.burst === sweepBurst && !sweepJob) showBurst("done");
});

// Thumbnails asked for while the server was away failed: asked for again once it is back.
on("connection", ({ again }) => {
  if (!again) return;
  for (const img of $$("#sweep-frames img")) if (img.complete && !img.naturalWidth) img.src = img.src;
});

// Another browser started something: follow it here too (a fix's extra sweep is the fix's, not a sweep).
function adopt(job) {
  if (FINISHED.has(job.state) || job.subject !== cameraId()) return;
  if (job.job_kind === "sweep" && !job.merged_into && !sweepJob) watchSweep(job.job);
  if (job.job_kind === "prescan" && !prescanJob) watchPrescan(job.job);
}
on("job.progress", adopt);

// Only the modes this camera can sweep in (a camera that cannot record offers no Movie).
function offerModes() {
  // (the camera's info is there once it has connected; until then the server refuses what it cannot do)
  const capabilities = state.cameras.get(cameraId())?.info?.capabilities;
  if (!capabilities) return;
  const select = $("#mode");
  for (const option of select.options) option.disabled = !capabilities.includes(option.dataset.needs);
  if (select.selectedOptions[0]?.disabled) select.value = [...select.options].find((o) => !o.disabled)?.value ?? "";
}

on("snapshot", () => {
  offerModes();
  for (const job of state.jobs.values()) adopt(job);
  const cam = state.cameras.get(cameraId());
  // the camera's last sweep (before a reload or a restart, maybe from another browser), unless it is shown
  // (coverage_overlay.js shows its coverage); the range it was asked for, unless a pre-scan came after it
  const last = cam?.last_sweep;
  if (last && !sweepJob && last.job !== shownSweep) {
    showLastSweep(last, { range: !(cam.last_prescan?.saved_at > last.saved_at) });
  }
  // the camera's last pre-scan: curves and range
  if (cam && cam.last_prescan && !prescan) showPrescan(cam.last_prescan, { keepRange: true });
});

// ``last``: the server's record of the camera's last sweep (tether/engine/engine.py); ``range``: its range
// goes into Near and Far. What it was asked for fills the form only while nothing is typed in it.
function showLastSweep(last, { range }) {
  shownSweep = last.job;
  sweepBurst = last.burst;
  if (["#range-near", "#range-far", "#frames"].every((s) => $(s).value === "")) {
    if (range && last.range) [$("#range-near").value, $("#range-far").value] = last.range.map(String);
    if (last.frames) $("#frames").value = String(last.frames);
    if ([...$("#mode").options].some((o) => o.value === last.mode && !o.disabled)) $("#mode").value = last.mode;
    drawCurves();
    showPlan();
  }
  showBurst(last.state, { error: last.error });
}
