// Image helpers computed in the browser on a canvas: focus peaking, histogram, 100 % loupe.

const scratch = document.createElement("canvas");
const scratchCtx = scratch.getContext("2d", { willReadFrequently: true });

// Pixels of `img` scaled to at most `maxWidth` wide (peaking at full size would cost too much).
export function pixels(img, maxWidth = 640) {
  const w0 = img.naturalWidth || img.width;
  const h0 = img.naturalHeight || img.height;
  if (!w0 || !h0) return null;
  const scale = Math.min(1, maxWidth / w0);
  scratch.width = Math.max(1, Math.round(w0 * scale));
  scratch.height = Math.max(1, Math.round(h0 * scale));
  scratchCtx.drawImage(img, 0, 0, scratch.width, scratch.height);
  return scratchCtx.getImageData(0, 0, scratch.width, scratch.height);
}

// Paint edges whose luminance gradient is in the top few percent onto `canvas`, in red.
export function drawPeaking(canvas, image, { fraction = 0.04, color = [255, 40, 40] } = {}) {
  const { width: w, height: h, data } = image;
  const lum = new Float32Array(w * h);
  for (let i = 0, p = 0; i < lum.length; i++, p += 4) lum[i] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  const grad = new Float32Array(w * h);
  const hist = new Uint32Array(256);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      // Laplacian magnitude: strongest where detail is in focus
      const v = Math.abs(4 * lum[i] - lum[i - 1] - lum[i + 1] - lum[i - w] - lum[i + w]);
      grad[i] = v;
      hist[Math.min(255, v | 0)]++;
    }
  }
  let threshold = 255, count = 0;
  const want = fraction * w * h;
  while (threshold > 8 && count + hist[threshold] < want) count += hist[threshold--];
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const out = ctx.createImageData(w, h);
  for (let i = 0; i < grad.length; i++) {
    if (grad[i] > threshold) {
      const p = 4 * i;
      out.data[p] = color[0]; out.data[p + 1] = color[1]; out.data[p + 2] = color[2]; out.data[p + 3] = 255;
    }
  }
  ctx.putImageData(out, 0, 0);
}

// Luminance histogram (plus R, G, B faintly) drawn into `canvas`.
export function drawHistogram(canvas, image) {
  const bins = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const d = image.data;
  for (let p = 0; p < d.length; p += 4) {
    bins[0][d[p]]++; bins[1][d[p + 1]]++; bins[2][d[p + 2]]++;
    bins[3][(0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2]) | 0]++;
  }
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "rgba(0,0,0,0.55)";
  ctx.fillRect(0, 0, w, h);
  const peak = Math.max(1, ...bins[3]);
  const colors = ["rgba(255,80,80,0.45)", "rgba(80,255,80,0.45)", "rgba(80,140,255,0.45)", "rgba(255,255,255,0.85)"];
  bins.forEach((bin, c) => {
    ctx.strokeStyle = colors[c];
    ctx.beginPath();
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * w;
      const y = h - Math.min(1, bin[i] / peak) * (h - 2);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  });
  // the text alternative a screen reader gives for the drawing
  canvas.setAttribute("aria-label", histogramSummary(bins[3]));
}

// A histogram in words: the median brightness and how much is clipped at either end.
export function histogramSummary(bins) {
  const total = bins.reduce((a, b) => a + b, 0) || 1;
  let median = 0;
  for (let seen = 0; median < 255 && (seen += bins[median]) < total / 2;) median++;
  const pct = (n) => `${Math.round((1000 * n) / total) / 10} %`;
  return `histogram of the live view: median brightness ${median} of 255, ${pct(bins[0])} black, ${pct(bins[255])} white`;
}

// Where a loupe of `size` goes for a pointer at `point`: above it (a finger would cover it below),
// below when there is no room above, and always inside `bounds` (the part of the picture's stage
// that is on screen), so it never leaves the screen or slides under the header.
export function loupePosition(point, size, bounds, gap = 20) {
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(v, hi));
  const above = point.y - size.height - gap;
  const top = above >= bounds.top ? above : point.y + gap;
  return {
    left: clamp(point.x - size.width / 2, bounds.left, bounds.right - size.width),
    top: clamp(top, bounds.top, bounds.bottom - size.height),
  };
}

// The box of a picture of natural size `natural` shown with object-fit: contain in a `w` x `h` element.
export function containBox(natural, w, h) {
  const scale = Math.min(w / (natural.width || 1), h / (natural.height || 1));
  const width = natural.width * scale, height = natural.height * scale;
  return { left: (w - width) / 2, top: (h - height) / 2, width, height };
}

// The rectangle (viewport coordinates) where `img` shows its picture (object-fit: contain aware).
export function pictureRect(img) {
  const rect = img.getBoundingClientRect();
  const box = containBox({ width: img.naturalWidth || 1, height: img.naturalHeight || 1 }, rect.width, rect.height);
  return { ...box, left: rect.left + box.left, top: rect.top + box.top };
}

// Where a pointer event falls on `img`, as fractions (0..1) of the picture, and in pixels from the
// element's corner (for placing markers).
export function imagePoint(img, event) {
  const rect = img.getBoundingClientRect();
  const pic = pictureRect(img);
  const x = (event.clientX - pic.left) / pic.width, y = (event.clientY - pic.top) / pic.height;
  if (x < 0 || x > 1 || y < 0 || y > 1) return null;
  return { x, y, clientX: event.clientX - rect.left, clientY: event.clientY - rect.top };
}

// Draw a crop of `img` centred on (fx, fy) into the loupe canvas: 100 % (one image pixel per screen
// pixel), or more when the page already shows the picture larger than that (a small live view).
export function drawLoupe(canvas, img, fx, fy, shownWidth = img.getBoundingClientRect().width) {
  const zoom = Math.max(1, (2 * shownWidth) / (img.naturalWidth || 1));
  const ctx = canvas.getContext("2d");
  const sw = canvas.width / zoom, sh = canvas.height / zoom;
  const sx = Math.max(0, Math.min(img.naturalWidth - sw, fx * img.naturalWidth - sw / 2));
  const sy = Math.max(0, Math.min(img.naturalHeight - sh, fy * img.naturalHeight - sh / 2));
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "rgba(0,0,0,.6)";
  ctx.fillRect(0, canvas.height - 22, 64, 22);
  ctx.fillStyle = "#fff";
  ctx.font = "13px system-ui";
  ctx.fillText(`${Math.round(zoom * 100)} %`, 6, canvas.height - 6);
}
