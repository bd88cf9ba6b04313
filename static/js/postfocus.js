// The Post Focus page: pre-scan (contrast curves, range found and adjustable), mode, frame plan,
// sweep with live progress and frames appearing as they arrive, coverage warnings. Any browser
// sees a sweep that another one started.
import { $, FINISHED, api, attempt, cameraId, cameraPath, connect, el, on, state, toast } from "./core.js";
import { startLiveView } from "./liveview.js";
import { follow } from "./jobs.js";

connect();
startLiveView();
let prescan = null;
let sweepJob = null;
let sweepBurst = null;
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
  $("#prescan-progress").hidden = false;
  $("#prescan-cancel").hidden = false;
  $("#prescan").disabled = true;
  const done = await follow(jobId, { bar: "#prescan-bar" }).catch((err) => { toast(err.message, "error"); return null; });
  $("#prescan-cancel").hidden = true;
  $("#prescan").disabled = false;
  prescanJob = null;
  if (done && done.result) showPrescan(done.result);
}

function showPrescan(result) {
  prescan = result;
  const range = result.range || [result.near, result.far];
  $("#range-near").value = range[0];
  $("#range-far").value = range[1];
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
async function showPlan() {
  const near = Number($("#range-near").value), far = Number($("#range-far").value);
  if ($("#range-near").value === "" || $("#range-far").value === "") return;
  const body = { range: [Math.min(near, far), Math.max(near, far)] };
  if (Number($("#frames").value) >= 2) body.frames = Number($("#frames").value);
  if (prescan && prescan.dof_spacing) body.dof = prescan.dof_spacing;
  if (prescan && prescan.scale) {
    if (prescan.scale.medium) body.medium = prescan.scale.medium;
    if (prescan.scale.large) body.large = prescan.scale.large;
  }
  const mine = ++planRequest;
  const plan = await api("POST", "/api/plan", body).catch((err) => ({ error: err.message }));
  if (mine !== planRequest) return; // a newer edit is being planned
  const node = $("#frame-plan");
  if (plan.error) { node.textContent = plan.error; return; }
  node.dataset.frames = String(plan.frames);
  let text = `${plan.frames} frames from ${plan.start} to ${Math.round(plan.end)}, ${plan.count} ${plan.step_class} step${plan.count > 1 ? "s" : ""} apart (${plan.spacing} small steps): ${plan.reason}`;
  if (prescan && prescan.subjects !== undefined) text += ` · ${prescan.subjects} subject tiles`;
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
  const started = await attempt(() => api("POST", `${cameraPath()}/sweep`, body));
  if (started) watchSweep(started.job, started.burst);
});
$("#sweep-cancel").addEventListener("click", () => sweepJob && attempt(() => api("POST", `/api/jobs/${sweepJob}/cancel`)));

async function watchSweep(jobId, burstId) {
  if (sweepJob === jobId) return;
  sweepJob = jobId;
  sweepBurst = burstId || sweepBurst;
  $("#sweep-progress").hidden = false;
  $("#sweep-cancel").hidden = false;
  $("#sweep").disabled = true;
  $("#sweep-frames").replaceChildren();
  $("#coverage").replaceChildren();
  $("#sweep-result").replaceChildren();
  const done = await follow(jobId, { bar: "#sweep-bar", status: "#sweep-status" })
    .catch((err) => { toast(`Sweep: ${err.message}`, err.job && err.job.state === "cancelled" ? "info" : "error"); return err.job || null; });
  $("#sweep-cancel").hidden = true;
  $("#sweep").disabled = false;
  sweepJob = null;
  const result = (done && done.result) || {};
  const burst = result.burst || sweepBurst;
  if (burst) {
    $("#sweep-result").replaceChildren(
      el("a", { href: `/refocus/${burst}`, id: "open-refocus" }, "Refocus this burst"), " · ",
      el("a", { href: `/stack/${burst}` }, "Stack it"));
  }
  showWarnings(result.warnings || (result.coverage && result.coverage.warnings) || []);
}

function showWarnings(warnings) {
  $("#coverage").replaceChildren(...warnings.map((w) =>
    el("p", { class: "warning" }, typeof w === "string" ? w : `${w.message}${w.suggestion ? ` — ${w.suggestion}` : ""}`)));
}

// Frames appearing as they arrive: the live view's current picture, captioned with the frame number.
on("sweep.frame", (ev) => {
  if (ev.camera && ev.camera !== cameraId()) return;
  if (ev.burst) sweepBurst = ev.burst;
  const strip = $("#sweep-frames");
  const live = $("#live-img");
  const thumb = el("canvas", { width: 96, height: 64, class: "frame-thumb", title: `frame ${ev.index + 1}` });
  if (live.naturalWidth) thumb.getContext("2d").drawImage(live, 0, 0, 96, 64);
  strip.append(el("figure", {}, thumb, el("figcaption", {}, String((ev.index ?? strip.children.length) + 1))));
  while (strip.children.length > 60) strip.firstChild.remove();
  strip.scrollLeft = strip.scrollWidth;
});

// Another browser started something: follow it here too.
function adopt(job) {
  if (FINISHED.has(job.state) || job.subject !== cameraId()) return;
  if (job.job_kind === "sweep" && !sweepJob) watchSweep(job.job);
  if (job.job_kind === "prescan" && !prescanJob) watchPrescan(job.job);
}
on("job.progress", adopt);

// Only the modes this camera can sweep in (a camera that cannot record offers no Movie).
function offerModes() {
  const cam = state.cameras.get(cameraId());
  if (!cam) return;
  const select = $("#mode");
  for (const option of select.options) option.disabled = !cam.capabilities.includes(option.dataset.needs);
  if (select.selectedOptions[0]?.disabled) select.value = [...select.options].find((o) => !o.disabled)?.value ?? "";
}

on("snapshot", () => {
  offerModes();
  for (const job of state.jobs.values()) adopt(job);
  // a pre-scan made earlier (maybe from another browser): start from its range
  const cam = state.cameras.get(cameraId());
  if (cam && cam.last_prescan && !prescan && $("#range-near").value === "") {
    prescan = { range: cam.last_prescan.range, dof_spacing: cam.last_prescan.dof_spacing };
    [$("#range-near").value, $("#range-far").value] = cam.last_prescan.range;
    showPlan();
  }
});
