// Pinch and wheel zoom on a picture, up to 400 % (four screen pixels to a picture pixel), with the part
// on screen fetched as a tile at the resolution the screen can show, up to the full-resolution frame:
// the overview the page loaded is a reduced picture, so without tiles a 400 % view would only enlarge it.
//
// The picture element is moved with a CSS transform (translate, then scale, from its top-left corner);
// getBoundingClientRect follows the transform, so taps, the loupe and overlays that measure the picture
// (imagetools.js) keep working while zoomed. Views are linked by fractions of the picture, so two
// pictures of one scene (a stack and a source frame) can be shown side by side at the same place.

import { containBox } from "./imagetools.js";

export const MAX_PERCENT = 400;
const REDUCTIONS = [1, 2, 4, 8];
const MAX_TILE_SIDE = 4096;
const SETTLE_MS = 150;

// The query string naming a tile: `box` in full-resolution pixels, at 1/`reduce`.
export function tileQuery(box, reduce) {
  return `left=${box.left}&top=${box.top}&width=${box.width}&height=${box.height}&reduce=${reduce}`;
}

// The largest reduction (1, 2, 4, 8) that still gives at least one tile pixel per device pixel, made
// larger if the tile would exceed the server's bound.
export function tileReduce(fullPixels, screenPixels, side) {
  let reduce = 1;
  for (const r of REDUCTIONS) if (fullPixels / r >= screenPixels) reduce = r;
  while (reduce < 8 && side / reduce > MAX_TILE_SIDE) reduce *= 2;
  return reduce;
}

export class Zoom {
  // `tileUrl(box, reduce)`: the URL of a tile (box in full-resolution pixels), or null for none;
  // `fullSize()`: {width, height} of the full-resolution picture; `onChange(zoom)`: after each view change.
  constructor(img, { tileUrl, fullSize, onChange = () => {} }) {
    this.img = img;
    this.tileUrl = tileUrl;
    this.fullSize = fullSize;
    this.listeners = [onChange];
    this.frame = img.parentElement.classList.contains("stage") ? img.parentElement : wrap(img);
    this.scale = 1;          // the transform's scale: 1 = the picture fitted
    this.tx = 0;
    this.ty = 0;
    this.linked = [];
    this.pointers = new Map();
    this.gestureAt = 0;
    this.tile = document.createElement("img");
    this.tile.className = "zoom-tile";
    this.tile.alt = "";
    this.tile.hidden = true;
    this.frame.append(this.tile);
    this.timer = 0;
    img.style.transformOrigin = "0 0";
    this.frame.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    for (const type of ["pointerdown", "pointermove", "pointerup", "pointercancel"]) {
      this.frame.addEventListener(type, (e) => this.pointer(e));
    }
    new ResizeObserver(() => this.apply()).observe(this.frame);
  }

  // The fitted picture's box in the frame's coordinates (untransformed).
  base() {
    const natural = { width: this.img.naturalWidth || 1, height: this.img.naturalHeight || 1 };
    const box = containBox(natural, this.img.offsetWidth, this.img.offsetHeight);
    return { ...box, left: box.left + this.img.offsetLeft, top: box.top + this.img.offsetTop };
  }

  // Screen (CSS) pixels per full-resolution pixel, as a percentage.
  percent() {
    return (100 * this.scale * this.base().width) / (this.fullSize().width || 1);
  }

  maxScale() {
    return Math.max(1, (MAX_PERCENT * (this.fullSize().width || 1)) / (100 * (this.base().width || 1)));
  }

  // Zoom to `scale` keeping the picture point under frame point (qx, qy) where it is.
  zoomAt(scale, qx, qy) {
    const s = Math.min(this.maxScale(), Math.max(1, scale));
    const ox = this.img.offsetLeft, oy = this.img.offsetTop;
    this.tx = qx - ox - (s * (qx - ox - this.tx)) / this.scale;
    this.ty = qy - oy - (s * (qy - oy - this.ty)) / this.scale;
    this.scale = s;
    this.apply();
  }

  // Show `percent` % with the picture point (fx, fy) (fractions) at the frame's centre; linked zooms follow
  // unless `propagate` is false (they are following this one).
  show(percent, fx = 0.5, fy = 0.5, { propagate = true } = {}) {
    const b = this.base();
    if (!b.width) return;  // not laid out (hidden): nothing to place yet
    this.scale = Math.min(this.maxScale(), Math.max(1, (percent * (this.fullSize().width || 1)) / (100 * (b.width || 1))));
    const ox = this.img.offsetLeft, oy = this.img.offsetTop;
    // the picture point in the element's coordinates, placed at the centre
    const px = b.left - ox + fx * b.width, py = b.top - oy + fy * b.height;
    this.tx = this.frame.clientWidth / 2 - ox - this.scale * px;
    this.ty = this.frame.clientHeight / 2 - oy - this.scale * py;
    this.apply({ propagate });
  }

  // The picture point (fractions) at the frame's centre.
  centre() {
    const b = this.base();
    const ox = this.img.offsetLeft, oy = this.img.offsetTop;
    const px = (this.frame.clientWidth / 2 - ox - this.tx) / this.scale, py = (this.frame.clientHeight / 2 - oy - this.ty) / this.scale;
    return { x: (px - (b.left - ox)) / b.width, y: (py - (b.top - oy)) / b.height };
  }

  // Keep the zoomed picture over the frame (no empty margin beside a picture larger than the frame).
  clamp() {
    const b = this.base();
    const ox = this.img.offsetLeft, oy = this.img.offsetTop;
    const fit = (size, start, span, offset) => {
      const shown = this.scale * size;
      const lo = span - shown - this.scale * (start - offset) - offset;
      const hi = -this.scale * (start - offset) - offset;
      return shown <= span ? null : [lo, hi];
    };
    const x = fit(b.width, b.left, this.frame.clientWidth, ox), y = fit(b.height, b.top, this.frame.clientHeight, oy);
    this.tx = x ? Math.min(x[1], Math.max(x[0], this.tx)) : (1 - this.scale) * (b.left - ox + b.width / 2);
    this.ty = y ? Math.min(y[1], Math.max(y[0], this.ty)) : (1 - this.scale) * (b.top - oy + b.height / 2);
  }

  apply({ propagate = true } = {}) {
    if (this.scale <= 1.0001) { this.scale = 1; this.tx = 0; this.ty = 0; } else this.clamp();
    this.img.style.transform = this.scale === 1 ? "" : `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.frame.dataset.zoom = String(Math.round(this.percent()));
    // "ready" once the tile of this very view is on screen (tests and screen readers can wait for it)
    this.frame.dataset.tile = this.scale === 1 ? "none" : "pending";
    this.view = (this.view || 0) + 1;
    this.placeTile();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetchTile(), SETTLE_MS);
    for (const listen of this.listeners) listen(this);
    if (propagate) {
      const c = this.centre(), p = this.percent();
      for (const other of this.linked) other.show(p, c.x, c.y, { propagate: false });
    }
  }

  // Two zooms that follow each other (the same place at the same percentage).
  link(other) {
    this.linked.push(other);
    other.linked.push(this);
  }

  // The part of the picture on screen: in full-resolution pixels, and where it is in the frame.
  visible() {
    const b = this.base();
    const full = this.fullSize();
    const ox = this.img.offsetLeft, oy = this.img.offsetTop;
    const left = ox + this.tx + this.scale * (b.left - ox), top = oy + this.ty + this.scale * (b.top - oy);
    const width = this.scale * b.width, height = this.scale * b.height;
    const x0 = Math.max(0, left), y0 = Math.max(0, top);
    const x1 = Math.min(this.frame.clientWidth, left + width), y1 = Math.min(this.frame.clientHeight, top + height);
    if (x1 <= x0 || y1 <= y0) return null;
    const px = (x) => Math.round(((x - left) / width) * full.width);
    const py = (y) => Math.round(((y - top) / height) * full.height);
    const box = { left: px(x0), top: py(y0), width: Math.max(1, px(x1) - px(x0)), height: Math.max(1, py(y1) - py(y0)) };
    return { box, screen: { left, top, width, height } };
  }

  // Put the tile we have where its picture box is now.
  placeTile() {
    const tile = this.tile;
    if (this.scale === 1 || !tile.dataset.box) { tile.hidden = true; return; }
    const box = JSON.parse(tile.dataset.box);
    const view = this.visible();
    if (!view) { tile.hidden = true; return; }
    const full = this.fullSize(), s = view.screen;
    Object.assign(tile.style, {
      left: `${s.left + (box.left / full.width) * s.width}px`, top: `${s.top + (box.top / full.height) * s.height}px`,
      width: `${(box.width / full.width) * s.width}px`, height: `${(box.height / full.height) * s.height}px`,
    });
    tile.hidden = tile.dataset.src !== tile.src || !tile.complete;
  }

  // Fetch the visible part at the screen's resolution (none at fit: the overview is enough there).
  async fetchTile() {
    const view = this.scale === 1 ? null : this.visible();
    if (!view) return;
    const { box } = view;
    const screen = (box.width / this.fullSize().width) * view.screen.width * (window.devicePixelRatio || 1);
    const reduce = tileReduce(box.width, screen, Math.max(box.width, box.height));
    const url = this.tileUrl(box, reduce);
    if (!url) return;
    const asked = this.view;
    const next = new Image();
    next.src = url;
    try { await next.decode(); } catch { return; }
    if (this.scale === 1) return;
    this.tile.src = next.src;
    this.tile.dataset.src = this.tile.src;
    this.tile.dataset.box = JSON.stringify(box);
    this.tile.dataset.reduce = String(reduce);
    this.placeTile();
    if (asked === this.view) this.frame.dataset.tile = "ready";
  }

  // The picture changed (another frame): the tile on screen is of the old one.
  refresh() {
    delete this.tile.dataset.box;
    this.tile.hidden = true;
    this.apply({ propagate: false });
  }

  wheel(event) {
    event.preventDefault();
    const r = this.frame.getBoundingClientRect();
    this.gestureAt = performance.now();
    this.zoomAt(this.scale * Math.exp(-event.deltaY * 0.0015), event.clientX - r.left, event.clientY - r.top);
  }

  // Two pointers pinch (and pan with their midpoint); one pointer drags a zoomed picture.
  pointer(event) {
    const r = this.frame.getBoundingClientRect();
    const at = { x: event.clientX - r.left, y: event.clientY - r.top };
    if (event.type === "pointerdown") { this.pointers.set(event.pointerId, at); return; }
    if (event.type !== "pointermove") { this.pointers.delete(event.pointerId); return; }
    const before = this.pointers.get(event.pointerId);
    if (!before) return;
    if (this.pointers.size >= 2) {
      const [a, b] = [...this.pointers.values()];
      const moved = new Map(this.pointers).set(event.pointerId, at);
      const [a2, b2] = [...moved.values()];
      const d1 = Math.hypot(a.x - b.x, a.y - b.y) || 1, d2 = Math.hypot(a2.x - b2.x, a2.y - b2.y);
      const m1 = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, m2 = { x: (a2.x + b2.x) / 2, y: (a2.y + b2.y) / 2 };
      this.tx += m2.x - m1.x;
      this.ty += m2.y - m1.y;
      this.gestureAt = performance.now();
      this.zoomAt(this.scale * (d2 / d1), m2.x, m2.y);
    } else if (this.scale > 1 && event.buttons) {
      this.tx += at.x - before.x;
      this.ty += at.y - before.y;
      if (Math.hypot(at.x - before.x, at.y - before.y) > 0) this.gestureAt = performance.now();
      this.apply();
    }
    this.pointers.set(event.pointerId, at);
  }

  // True just after a pinch, wheel or drag: the pointerup that ends one is not a tap.
  gesturing() {
    return this.pointers.size > 1 || performance.now() - this.gestureAt < 300;
  }
}

// Put `img` in a frame of its own that clips the zoomed picture.
function wrap(img) {
  const frame = document.createElement("div");
  frame.className = "zoom-frame";
  img.before(frame);
  frame.append(img);
  return frame;
}

// A label with the zoom's percentage and buttons for 100 % and back to the whole picture.
export function zoomControls(zoom, { id }) {
  const label = document.createElement("span");
  label.id = `${id}-label`;
  label.className = "zoom-label";
  label.setAttribute("aria-live", "polite");
  const button = (text, title, onclick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", onclick);
    return b;
  };
  const box = document.createElement("span");
  box.className = "zoom-bar";
  box.append(label,
    Object.assign(button("100 %", "one picture pixel to a screen pixel", () => { const c = zoom.centre(); zoom.show(100, c.x, c.y); }), { id: `${id}-100` }),
    Object.assign(button("Fit", "the whole picture", () => zoom.show(0)), { id: `${id}-fit` }));
  const update = () => { label.textContent = zoom.scale === 1 ? "fit" : `${Math.round(zoom.percent())} %`; };
  zoom.listeners.push(update);
  update();
  return box;
}
