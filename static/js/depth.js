// The Depth page: tap to focus, a virtual aperture, and adjustments by distance; a living picture.
// The server renders every preview (tether/engine/depth.py); this page only says what to render,
// keeps at most one request in flight (the newest settings win) and stores the settings in the burst.
import { $, $$, api, attempt, connect, el, frameNumber, toast } from "./core.js";
import { follow } from "./jobs.js";
import { keyboardCursor, markTap, onTap, placeTap } from "./cursor.js";
import { imagePoint } from "./imagetools.js";

connect();
const burstId = document.body.dataset.burst;
const img = $("#preview");
const base = `/api/bursts/${burstId}`;
const depthCanvas = document.createElement("canvas");
const depthCtx = depthCanvas.getContext("2d", { willReadFrequently: true });
let info = null;
let settings = {};
let rendering = false;
let wanted = false;
let saveTimer = 0;
let shownUrl = null;
keyboardCursor(img, "sets the focus point, or the depth selected");

const numbers = ["feather", "blur", "brightness", "desaturate"];

// The settings as the controls show them (what the server's DepthEdit takes).
function current() {
  const out = { ...settings, target: $("#target").value };
  for (const name of numbers) out[name] = Number($(`#${name}`).value);
  out.f_number = Number($("#f-number").value);
  const shot = Number($("#captured").value);
  out.captured_f_number = shot > 0 && shot !== info.captured_f_number ? shot : null;
  return out;
}

function shown(edit) {
  const shot = edit.captured_f_number || info.captured_f_number || info.assumed_f_number;
  $("#f-label").textContent = edit.focus ? `f/${edit.f_number.toFixed(1)} (shot at f/${shot})` : "all sharp";
  $("#range-label").textContent = edit.near === null || edit.near === undefined ? "nothing selected" : selected(edit);
}

// The selection runs between depths that fall between frames (a tap selects one frame's depth either side,
// a slider moves by tenths): a person reads the frames nearest its ends, whole and counted from 1.
function selected(edit) {
  const [near, far] = [edit.near, edit.far].map((depth) => frameNumber(Math.round(depth)));
  return near === far ? `frame ${near} selected` : `frames ${near}–${far} selected`;
}

// Ask for a preview of the current settings; while one is being made, ask again once it is back.
async function render() {
  if (rendering) { wanted = true; return; }
  rendering = true;
  const edit = current();
  shown(edit);
  try {
    const show = $("#show-selection").checked ? "?show=selection" : "";
    const response = await fetch(`${base}/depth/preview${show}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(edit),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      toast(body.error || `HTTP ${response.status}`, "error");
    } else {
      const url = URL.createObjectURL(await response.blob());
      await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = url; });
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      shownUrl = url;
      img.dataset.rendered = JSON.stringify(edit); // for the browser tests: which settings are on screen
      img.dataset.renders = String(Number(img.dataset.renders || 0) + 1);
    }
  } finally {
    rendering = false;
  }
  if (wanted) { wanted = false; render(); }
}

// Settings are kept in the burst, a moment after the last change (not at every slider step).
function changed() {
  if ($("#show-depth").checked) { $("#show-depth").checked = false; }
  render();
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => attempt(() => api("PUT", `${base}/depth/settings`, current())), 600);
}

// Depth (in frames) at a point, from the depth map (near = bright).
function depthAt(point) {
  const x = Math.min(depthCanvas.width - 1, Math.floor(point.x * depthCanvas.width));
  const y = Math.min(depthCanvas.height - 1, Math.floor(point.y * depthCanvas.height));
  const value = depthCtx.getImageData(x, y, 1, 1).data[0];
  return (1 - value / 255) * (info.frames - 1);
}

function setSelection(near, far) {
  if (near === null) {
    settings.near = settings.far = null;
  } else {
    settings.near = Math.max(0, near);
    settings.far = Math.min(info.frames - 1, far);
    $("#near").value = String(settings.near);
    $("#far").value = String(settings.far);
  }
}

function tap(event) {
  const point = imagePoint(img, event);
  if (!point || !info) return;
  markTap($("#tap-marker"), img, point);
  if ($("input[name=tap]:checked").value === "focus") {
    settings.focus = [point.x, point.y];
  } else {
    const depth = depthAt(point);
    setSelection(depth - 1, depth + 1);
  }
  changed();
}

function apply(stored) {
  settings = { focus: stored.focus, near: stored.near, far: stored.far };
  for (const name of numbers) $(`#${name}`).value = String(stored[name]);
  $("#target").value = stored.target;
  const shot = stored.captured_f_number || info.captured_f_number || info.assumed_f_number;
  $("#captured").value = String(shot);
  $("#f-number").max = String(Math.max(16, 2 * shot));
  $("#f-number").value = String(stored.f_number || shot);
  if (stored.near !== null) setSelection(stored.near, stored.far);
}

async function init() {
  const started = await attempt(() => api("POST", `${base}/refocus-map`));
  if (!started) return;
  $("#busy").hidden = false;
  if (!started.ready) await follow(started.job, { status: "#busy" }).catch((err) => toast(err.message, "error"));
  info = await attempt(() => api("GET", `${base}/depth`));
  $("#busy").hidden = true;
  if (!info) return;
  for (const id of ["#near", "#far"]) $(id).max = String(info.frames - 1);
  if (!info.captured_f_number) {
    // said where it is read, not only in a tooltip: every aperture the page renders depends on it
    $("#captured-assumed").textContent = `(not recorded in the burst: f/${info.assumed_f_number} assumed; set what it was)`;
    $("#captured-assumed").hidden = false;
  }
  apply(info.settings);
  const map = new Image();
  map.onload = () => {
    depthCanvas.width = map.naturalWidth;
    depthCanvas.height = map.naturalHeight;
    depthCtx.drawImage(map, 0, 0);
  };
  map.src = `${base}/depthmap.png`;
  await render();
  $("#stage").dataset.ready = "true";
  const estimate = await attempt(() => api("GET", `${base}/living`));
  if (estimate) {
    $("#living-estimate").textContent = `about ${(estimate.estimate / 1e6).toFixed(1)} MB (${estimate.frames} frames, `
      + `${estimate.width}×${estimate.height} ${estimate.format.toUpperCase()})`;
    $("#living-estimate").dataset.bytes = String(estimate.estimate);
  }
}

onTap(img, tap);

for (const id of ["f-number", "captured", "target", ...numbers]) $(`#${id}`).addEventListener("input", changed);
for (const id of ["near", "far"]) {
  $(`#${id}`).addEventListener("input", () => {
    const near = Number($("#near").value), far = Number($("#far").value);
    setSelection(Math.min(near, far), Math.max(near, far));
    changed();
  });
}
$("#clear-selection").addEventListener("click", () => { setSelection(null); changed(); });
$("#show-selection").addEventListener("change", () => render());
$("#all-sharp").addEventListener("click", () => { settings.focus = null; changed(); });
$("#show-depth").addEventListener("change", (e) => {
  if (e.target.checked) img.src = `${base}/depthmap.png`;
  else render();
});

async function runExport(path, body, status) {
  clearTimeout(saveTimer);
  if (body) await attempt(() => api("PUT", `${base}/depth/settings`, current())); // the export replays what is stored
  const started = await attempt(() => api("POST", path, body));
  if (!started) return;
  const done = await follow(started.job, { status }).catch((err) => toast(err.message, "error"));
  if (done && done.result) {
    $(status).replaceChildren(el("a", { href: `/api/exports/${done.result.export}`, download: "" },
      `Download ${done.result.name} (${(done.result.bytes / 1e6).toFixed(1)} MB)`));
  }
}

$("#export-jpeg").addEventListener("click", () => runExport(`${base}/depth/export`, { format: "jpeg" }, "#export-status"));
$("#export-tiff").addEventListener("click", () => runExport(`${base}/depth/export`, { format: "tiff" }, "#export-status"));
$("#living-export").addEventListener("click", () => runExport(`${base}/living`, undefined, "#living-status"));
// the picture is resized with the window (a phone turned, a window dragged): the marker stays on the point tapped
new ResizeObserver(() => placeTap($("#tap-marker"), img)).observe(img);
$$("input[name=tap]").forEach((radio) => radio.addEventListener("change", () => { $("#tap-marker").hidden = true; }));

init();
