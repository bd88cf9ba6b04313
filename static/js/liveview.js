// The live view: an <img> on the MJPEG stream, with optional peaking, histogram and loupe.
import { $, cameraPath, on } from "./core.js";
import { keyboardCursor } from "./cursor.js";
import { drawHistogram, drawLoupe, drawPeaking, imagePoint, pixels } from "./imagetools.js";

export function startLiveView({ peaking = false, histogram = false, loupe = false } = {}) {
  const img = $("#live-img");
  const src = () => `${cameraPath()}/live.mjpg`;
  // start the endless stream after the page's load event, so the page counts as loaded
  const begin = () => { img.src = src(); };
  if (document.readyState === "complete") begin(); else window.addEventListener("load", begin, { once: true });
  const restart = () => { img.src = `${src()}?r=${Date.now()}`; };
  // the stream ends if the camera changes: reconnect after a pause
  img.addEventListener("error", () => setTimeout(restart, 1500));
  let lens = null;
  const fps = $("#liveview-fps");
  on("liveview.fps", (ev) => { if (fps) fps.textContent = `${Number(ev.fps || 0).toFixed(1)} fps`; });
  // A server that stops ends the MJPEG response without an error event, so the <img> would keep its last
  // frame forever: the Socket.IO connection is what notices. While it is down no frames come (say so);
  // once it is back, open the stream again.
  on("connection", ({ connected, again }) => {
    if (!connected) {
      img.dataset.stale = "true";
      if (fps) fps.textContent = "– fps";
    } else if (again) {
      delete img.dataset.stale;
      restart();
    }
  });

  const tick = () => {
    if (img.naturalWidth) {
      const wantPeaking = peaking && $("#toggle-peaking")?.checked;
      const wantHist = histogram && $("#toggle-histogram")?.checked;
      if (wantPeaking || wantHist) {
        const image = pixels(img, 640);
        if (image && wantPeaking) drawPeaking($("#peaking-canvas"), image);
        if (image && wantHist) drawHistogram($("#histogram"), image);
      }
      if (lens) drawLoupe($("#loupe"), img, lens.x, lens.y);
    }
  };
  setInterval(tick, 250);

  if (peaking) {
    $("#toggle-peaking").addEventListener("change", (e) => { $("#peaking-canvas").hidden = !e.target.checked; });
  }
  if (histogram) {
    $("#toggle-histogram").addEventListener("change", (e) => { $("#histogram").hidden = !e.target.checked; });
  }
  if (loupe) {
    keyboardCursor(img, "opens the loupe there (Enter again closes it)");
    img.addEventListener("click", (event) => {
      const canvas = $("#loupe");
      if (lens) { lens = null; canvas.hidden = true; return; }
      const point = imagePoint(img, event);
      if (!point) return;
      lens = point;
      // centred on the click, kept inside the picture
      const box = img.getBoundingClientRect();
      const left = Math.min(Math.max(0, point.clientX - canvas.width / 2), Math.max(0, box.width - canvas.width));
      const top = Math.min(Math.max(0, point.clientY - canvas.height / 2), Math.max(0, box.height - canvas.height));
      canvas.style.left = `${left}px`;
      canvas.style.top = `${top}px`;
      canvas.hidden = false;
      drawLoupe(canvas, img, point.x, point.y);
    });
  }
  return img;
}
