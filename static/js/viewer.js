// Showing the frames of a burst: cached images, an overlay aligned to the picture, peaking, loupe.
import { $ } from "./core.js";
import { drawLoupe, drawPeaking, imagePoint, loupePosition, pictureRect, pixels } from "./imagetools.js";
import { Zoom, tileQuery } from "./zoom.js";

export class FrameViewer {
  // `size`: {width, height} of the full-resolution frames (what zoom tiles are cut from).
  constructor(burstId, img, { reduce = 1, size = null } = {}) {
    this.burstId = burstId;
    this.size = size;
    this.zoom = null;
    this.img = img;
    this.reduce = reduce;
    this.cache = new Map();
    this.index = -1;
    this.peaking = false;
    this.full = null;
  }

  url(index, reduce = this.reduce) {
    return `/api/bursts/${this.burstId}/frames/${index}.jpg${reduce > 1 ? `?reduce=${reduce}` : ""}`;
  }

  // Load frame `index` (from cache when seen before) and show it; resolves when it is on screen.
  show(index) {
    this.index = index;
    let pending = this.cache.get(index);
    if (!pending) {
      const image = new Image();
      image.src = this.url(index);
      pending = image.decode().then(() => image);
      this.cache.set(index, pending);
    }
    return pending.then((image) => {
      if (this.index !== index) return; // a newer request won
      this.img.src = image.src;
      this.img.dataset.index = String(index);
      this.full = null;
      if (this.peaking) this.drawPeaking();
      if (this.zoom) this.zoom.refresh();
    });
  }

  // Pinch and wheel zoom to 400 %, the part on screen fetched from the full-resolution frame shown.
  enableZoom(onChange) {
    const size = () => this.size || { width: this.img.naturalWidth * this.reduce, height: this.img.naturalHeight * this.reduce };
    this.zoom = new Zoom(this.img, {
      fullSize: size,
      tileUrl: (box, reduce) => (this.index < 0 ? null
        : `/api/bursts/${this.burstId}/frames/${this.index}/tile.jpg?${tileQuery(box, reduce)}`),
      onChange: (zoom) => {
        if (this.peaking) this.drawPeaking();
        if (onChange) onChange(zoom);
      },
    });
    return this.zoom;
  }

  preload(count) {
    for (let i = 0; i < count; i++) {
      if (!this.cache.has(i)) {
        const image = new Image();
        image.src = this.url(i);
        this.cache.set(i, image.decode().then(() => image));
      }
    }
  }

  // Keep an overlay canvas over the displayed picture.
  placeOverlay(canvas) {
    const stage = canvas.parentElement.getBoundingClientRect();
    const r = pictureRect(this.img);
    Object.assign(canvas.style, { left: `${r.left - stage.left}px`, top: `${r.top - stage.top}px`, width: `${r.width}px`, height: `${r.height}px` });
  }

  setPeaking(on, canvas = $("#peaking-canvas")) {
    this.peaking = on;
    canvas.hidden = !on;
    if (on) this.drawPeaking(canvas);
  }

  drawPeaking(canvas = $("#peaking-canvas")) {
    const image = pixels(this.img, 900);
    if (!image) return;
    drawPeaking(canvas, image);
    this.placeOverlay(canvas);
  }

  // 100 % magnifier from the full-size frame around a pointer position.
  async loupe(event, canvas = $("#loupe")) {
    const point = imagePoint(this.img, event);
    if (!point) { canvas.hidden = true; return; }
    if (!this.full || this.full.dataset.index !== String(this.index)) {
      const full = new Image();
      full.src = this.url(this.index, 1);
      full.dataset.index = String(this.index);
      this.full = full;
      await full.decode().catch(() => null);
    }
    canvas.hidden = false; // shown first: its size on screen is what must fit
    const stage = canvas.parentElement.getBoundingClientRect();
    const r = this.img.getBoundingClientRect();
    // the stage's part inside the window, in the stage's own coordinates
    const bounds = {
      left: Math.max(0, -stage.left), top: Math.max(0, -stage.top),
      right: Math.min(stage.width, window.innerWidth - stage.left), bottom: Math.min(stage.height, window.innerHeight - stage.top),
    };
    const { left, top } = loupePosition({ x: point.clientX + r.left - stage.left, y: point.clientY + r.top - stage.top },
      { width: canvas.offsetWidth, height: canvas.offsetHeight }, bounds);
    canvas.style.left = `${left}px`;
    canvas.style.top = `${top}px`;
    drawLoupe(canvas, this.full, point.x, point.y, pictureRect(this.img).width);
  }
}
