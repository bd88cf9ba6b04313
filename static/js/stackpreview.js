// The stack building up during a sweep: the server folds each frame into a small all-in-focus picture
// as it arrives (in frame 0's framing, as the stack will be) and sends it every half second or so;
// here it replaces the one shown, so the photographer sees whether the range covers the subject.
import { $, cameraId, on } from "./core.js";

let shownBurst = null;

// Called when a sweep starts here: the picture of the last sweep goes.
export function resetStackPreview() {
  shownBurst = null;
  $("#stack-preview").hidden = true;
  $("#stack-preview-img").removeAttribute("src");
  delete $("#stack-preview").dataset.frames;
}

on("sweep.preview", (ev) => {
  if (ev.camera && ev.camera !== cameraId()) return;
  const figure = $("#stack-preview");
  const frames = Number(ev.frames);
  // previews of one sweep only grow; an older one arriving late is not shown over a newer one
  if (ev.burst === shownBurst && frames < Number(figure.dataset.frames || 0)) return;
  shownBurst = ev.burst;
  $("#stack-preview-img").src = ev.image;
  figure.dataset.frames = String(frames);
  $("#stack-preview-caption").textContent = `Stack so far: ${frames} frame${frames > 1 ? "s" : ""}`;
  figure.hidden = false;
});
