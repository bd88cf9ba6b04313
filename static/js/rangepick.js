// Near and far from live view (Post Focus): nudge the focus, mark "this is near" / "this is far" (the
// server counts the lens's position and keeps the frame seen there), drag the range on the pre-scan
// curves, and see positions as a share of the lens's travel. The steps stay in the Near/Far inputs, which
// postfocus.js plans and sweeps from: this module only sets them and tells it ("input" events).
import { $, $$, FINISHED, JOB_EVENTS, api, attempt, cameraId, cameraPath, on, state } from "./core.js";

const inputs = { near: $("#range-near"), far: $("#range-far") };
let lens = null; // {position, travel, fraction} or null while the position is not counted

const percent = (steps) => (lens && lens.travel ? `${Math.round((100 * steps) / lens.travel)} %` : `${steps} steps`);

function setEnd(end, steps) {
  inputs[end].value = String(Math.round(steps));
  inputs[end].dispatchEvent(new Event("input", { bubbles: true }));
}

// ``take``: set Near/Far from marks made since last seen (a mark in another browser sets them here too);
// a page that just loaded shows the marks without replacing the range it may have remembered.
const seen = {};
function showLens(update, { take = false } = {}) {
  if (update.camera && update.camera !== cameraId()) return;
  lens = update.lens || null;
  const node = $("#lens-position");
  node.dataset.position = lens ? String(lens.position) : "";
  describeLens();
  for (const button of $$("#rangepick [data-end]")) button.disabled = !lens;
  showFraction();
  for (const [end, mark] of Object.entries(update.marks || {})) {
    if (seen[end] === mark.marked_at) continue;
    seen[end] = mark.marked_at;
    showMark(mark, end);
    if (take) setEnd(end, mark.position);
  }
}

// A pre-scan or sweep of this camera running: it moves the lens, so no position is counted meanwhile.
const moving = () => [...state.jobs.values()].some((job) => job.subject === cameraId() && !FINISHED.has(job.state)
  && (job.job_kind === "sweep" || job.job_kind === "prescan"));

function showMark(mark, end) {
  const figure = $(`#${end}-preview`);
  figure.hidden = false;
  figure.dataset.position = String(mark.position);
  figure.querySelector("img").src = `${cameraPath()}/marks/${end}.jpg?at=${mark.marked_at}`;
  figure.querySelector("figcaption").textContent = `${end}: ${percent(mark.position)}`;
}

// The range as a share of the lens's travel (the Near/Far inputs hold steps, as the API takes them).
function showFraction() {
  const node = $("#range-fraction");
  if (inputs.near.value === "" || inputs.far.value === "" || !lens || !lens.travel) return;
  node.textContent = `${percent(Number(inputs.near.value))} to ${percent(Number(inputs.far.value))} of the lens's travel`;
}

// Counted in small steps, the unit of every position: a large step's size is only known as well as the
// pre-scan measured it (a few per cent), and each large nudge would add that error to the marks.
const BIG_NUDGE = 10;
$$("#rangepick [data-focus]").forEach((button) => button.addEventListener("click", () => {
  const count = button.dataset.step === "large" ? BIG_NUDGE : 1;
  attempt(() => api("POST", `${cameraPath()}/focus`, { direction: button.dataset.focus, step: "small", count }));
}));

$$("#rangepick [data-end]").forEach((button) => button.addEventListener("click", async () => {
  // its focus.mark event shows it and sets the range, here and in every other browser
  attempt(() => api("POST", `${cameraPath()}/marks`, { end: button.dataset.end }));
}));

function describeLens() {
  $("#lens-position").textContent = lens
    ? `focus at ${percent(lens.position)}${lens.travel ? ` of the lens's travel (${lens.position} steps)` : " from the near end"}`
    : moving() ? "focus moving: a pre-scan or sweep is running" : "focus position not known: run a pre-scan first";
}

on("lens.position", showLens);
// A sweep's news that the position is no longer counted can come before the news that the sweep runs (job
// events are sent at most a few times a second): say why once the job is heard of, and again when it ends.
for (const type of JOB_EVENTS) {
  on(type, (job) => { if (!lens && job.subject === cameraId()) describeLens(); });
}
on("focus.mark", (update) => showLens(update, { take: true }));
on("snapshot", () => showLens({ camera: cameraId(), ...(state.cameras.get(cameraId()) || {}) }));
Object.values(inputs).forEach((input) => input.addEventListener("input", showFraction));

// Dragging on the curves moves whichever end of the shaded range is nearer to the pointer.
const canvas = $("#curves");
let dragging = null;
function stepsAt(event) {
  const { lo, hi } = canvas.dataset;
  if (lo === undefined) return null;
  const box = canvas.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * canvas.width;
  const steps = Number(lo) + ((x - 5) / (canvas.width - 10)) * (Number(hi) - Number(lo));
  return Math.max(0, Math.round(steps));
}
canvas.addEventListener("pointerdown", (event) => {
  const steps = stepsAt(event);
  if (steps === null) return;
  const near = Number(inputs.near.value), far = Number(inputs.far.value);
  dragging = Math.abs(steps - near) <= Math.abs(steps - far) ? "near" : "far";
  canvas.setPointerCapture(event.pointerId);
  setEnd(dragging, steps);
});
canvas.addEventListener("pointermove", (event) => {
  const steps = dragging ? stepsAt(event) : null;
  if (steps !== null) setEnd(dragging, steps);
});
for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => { dragging = null; });

// A settle delay is for stills: a live-view or movie frame is not taken after a pause.
const settle = $("#settle");
const offerSettle = () => { settle.disabled = $("#mode").value !== "stills"; };
$("#mode").addEventListener("change", offerSettle);
offerSettle();
