// The Refocus page: tap (or click) a point and the frame where it is sharpest appears.
import { $, api, attempt, connect, el, frameNumber, toast } from "./core.js";
import { follow } from "./jobs.js";
import { keyboardCursor, markTap, onTap, placeTap } from "./cursor.js";
import { imagePoint } from "./imagetools.js";
import { FrameViewer } from "./viewer.js";
import { zoomControls } from "./zoom.js";

connect();
const burstId = document.body.dataset.burst;
const img = $("#frame");
const scrubber = $("#scrubber");
let viewer = null;
let ready = false;
keyboardCursor(img, "shows the frame sharpest there");

function showFrame(index) {
  scrubber.value = String(index);
  $("#frame-label").textContent = `frame ${frameNumber(index)} of ${frameNumber(Number(scrubber.max))}`;
  scrubber.setAttribute("aria-valuetext", $("#frame-label").textContent); // its value counts from 0
  return viewer.show(index);
}

async function tap(event) {
  const point = imagePoint(img, event);
  if (!point || !ready) return;
  markTap($("#tap-marker"), img, point);
  const answer = await attempt(() => api("GET", `/api/bursts/${burstId}/refocus?x=${point.x.toFixed(5)}&y=${point.y.toFixed(5)}`));
  if (!answer) return;
  if (answer.moving) {  // a moving subject: no one frame shows it sharp there, so none is named
    toast("That is a moving subject: tap something that stood still.", "info");
    return;
  }
  img.dataset.tapFrame = String(answer.frame);
  await showFrame(answer.frame);
  $("#alternatives").replaceChildren(
    el("span", { class: "muted" }, `sure: ${Math.round(100 * answer.confidence)} % · also:`),
    ...answer.alternatives.slice(0, 4).map((k) => el("button", { type: "button", onclick: () => showFrame(k) }, String(frameNumber(k)))));
}

async function init() {
  const detail = await attempt(() => api("GET", `/api/bursts/${burstId}`));
  if (!detail) return;
  const count = detail.frames.length;
  const width = detail.frames[0]?.width || 0;
  const size = width ? { width, height: detail.frames[0].height } : null;
  viewer = new FrameViewer(burstId, img, { reduce: width > 2400 ? 4 : width > 1200 ? 2 : 1, size });
  // the tap's marker stays on the point tapped while the picture moves (a zoom, a pan, the bar below growing)
  const zoom = viewer.enableZoom(() => placeTap($("#tap-marker"), img));
  $("#frame-label").after(zoomControls(zoom, { id: "zoom" }));
  scrubber.max = String(Math.max(0, count - 1));
  await showFrame(Math.floor(count / 2));
  viewer.preload(count);
  $("#stack-link").href = `/stack/${burstId}`;
  const started = await attempt(() => api("POST", `/api/bursts/${burstId}/refocus-map`));
  if (started && !started.ready) {
    $("#busy").hidden = false;
    await follow(started.job, { status: "#busy" }).catch((err) => toast(err.message, "error"));
    $("#busy").hidden = true;
  }
  ready = Boolean(started);
  $("#stage").dataset.ready = String(ready);
}

onTap(img, tap, () => Boolean(viewer?.zoom?.gesturing()));
img.addEventListener("pointermove", (e) => { if ($("#toggle-loupe").checked && viewer) viewer.loupe(e); });
img.addEventListener("pointerleave", () => { $("#loupe").hidden = true; });
scrubber.addEventListener("input", () => showFrame(Number(scrubber.value)));
$("#toggle-peaking").addEventListener("change", (e) => viewer && viewer.setPeaking(e.target.checked));
$("#toggle-loupe").addEventListener("change", (e) => { if (!e.target.checked) $("#loupe").hidden = true; });
window.addEventListener("resize", () => viewer && viewer.peaking && viewer.drawPeaking());
document.addEventListener("keydown", (e) => {
  // the scrubber moves itself by one frame (and says so with an input event): moving here too made two
  if (e.target === scrubber) return;
  if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
    const next = Math.min(Number(scrubber.max), Math.max(0, Number(scrubber.value) + (e.key === "ArrowLeft" ? -1 : 1)));
    showFrame(next);
  }
});

$("#save-frame").addEventListener("click", async () => {
  const started = await attempt(() => api("POST", `/api/bursts/${burstId}/save-frame`, { frame: Number(scrubber.value) }));
  if (!started) return;
  const done = await follow(started.job, { status: "#save-result" }).catch((err) => toast(err.message, "error"));
  if (done && done.result) {
    $("#save-result").replaceChildren(el("a", { href: `/api/exports/${done.result.export}`, download: "", id: "saved-link" }, `Download ${done.result.name}`));
  }
});

init();
