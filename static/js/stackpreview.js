// The stack building up during a sweep: the server folds each frame into a small all-in-focus picture
// as it arrives (in frame 0's framing, as the stack will be) and sends it every half second or so;
// here it replaces the one shown, so the photographer sees whether the range covers the subject. The
// burst keeps the last one: a page showing a sweep again (a reload, a restart, a fix merged in) shows that.
import { $ } from "./core.js";

let shownBurst = null;

// Called when a sweep starts here: the picture of the last sweep goes.
export function resetStackPreview() {
  shownBurst = null;
  $("#stack-preview").hidden = true;
  $("#stack-preview-img").removeAttribute("src");
  delete $("#stack-preview").dataset.frames;
}

// A ``sweep.preview`` event of the sweep shown.
export function showLivePreview(ev) {
  const figure = $("#stack-preview");
  const frames = Number(ev.frames);
  // previews of one sweep only grow; an older one arriving late is not shown over a newer one
  if (ev.burst === shownBurst && frames < Number(figure.dataset.frames || 0)) return;
  shownBurst = ev.burst;
  show(ev.image, frames, `Stack so far: ${frames} frame${frames > 1 ? "s" : ""}`);
}

// The preview the burst keeps, of its ``frames`` frames (none kept: a sweep cut short, an old burst: hidden).
export function showKeptPreview(burstId, frames) {
  resetStackPreview();
  shownBurst = burstId;
  const img = $("#stack-preview-img");
  img.onerror = () => { if (shownBurst === burstId) resetStackPreview(); };
  // (the count in the address: after a fix merged frames in, the new preview, not the old one from the cache)
  show(`/api/bursts/${burstId}/stack-preview.jpg?frames=${frames}`, frames,
    `Stack of the ${frames} frame${frames > 1 ? "s" : ""} (a preview)`);
}

function show(src, frames, caption) {
  $("#stack-preview-img").src = src;
  $("#stack-preview").dataset.frames = String(frames);
  $("#stack-preview-caption").textContent = caption;
  $("#stack-preview").hidden = false;
}
