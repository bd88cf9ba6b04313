// Retouch on the Stack page (Zerene Stacker's model, made for a tablet): a brush over the stack that copies
// pixels from the frames sharpest under it (each place its own), a frame (the depth map's against halos,
// or the one on the scrubber) or a slab. Mouse, pen and touch are pointer events on a canvas laid over the picture; a stroke
// is sent when the pointer lifts, the server paints it and keeps it in the burst, and the page shows the
// picture of the revision it answers with. Undo and redo are the server's too, so every browser (and a
// reload, and a restarted server) sees the same strokes. Stacking again keeps the stack painted until then,
// strokes and all, as an earlier stack that Restore brings back.
import { $, api, attempt, el, frameNumber, on, toast } from "./core.js";
import { follow } from "./jobs.js";

// A stroke's points are thinned to this many (the server takes up to 2000).
const MAX_POINTS = 1500;

// onStack(layer): a layer over another stack than before is shown (the first one loaded, a new stack, a restored one).
export function retouch(burstId, { showFrame, onPicture = () => {}, onStack = () => {} }) {
  const img = $("#result");
  const canvas = $("#retouch-canvas");
  const panel = $("#retouch");
  const source = $("#retouch-source");
  const frame = $("#retouch-frame");
  const earlier = $("#retouch-earlier-stack");
  let layer = null;
  let loading = Promise.resolve(); // the last load of the layer (it never fails: it says why)
  let points = null;

  const clamp = (v) => Math.min(1, Math.max(0, v));
  const radiusPx = () => Number($("#brush-size").value);

  // The canvas covers the picture's frame (the zoom's, when the picture is zoomable): strokes are drawn and
  // read where the picture is now, so they follow a zoom or a pan.
  function fitCanvas() {
    if (img.hidden || !img.naturalWidth) return;
    const frame = img.parentElement;
    if (canvas.parentElement !== frame) frame.append(canvas);
    canvas.width = Math.round(frame.clientWidth * devicePixelRatio);
    canvas.height = Math.round(frame.clientHeight * devicePixelRatio);
  }

  // A point of the picture (fractions) on the canvas, in its pixels.
  function onCanvas([fx, fy]) {
    const pic = img.getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    return [(pic.left + fx * pic.width - box.left) * devicePixelRatio, (pic.top + fy * pic.height - box.top) * devicePixelRatio];
  }

  function drawTrail(cursor) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const r = radiusPx() * devicePixelRatio;
    ctx.lineCap = ctx.lineJoin = "round";
    if (points && points.length) {
      ctx.strokeStyle = "rgba(80, 200, 255, 0.35)";
      ctx.lineWidth = 2 * r;
      ctx.beginPath();
      points.map(onCanvas).forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (points.length === 1) ctx.lineTo(...onCanvas(points[0]).map((v, i) => v + (i ? 0 : 0.1)));
      ctx.stroke();
    }
    if (cursor) { // the brush's outline under a mouse or a hovering pen
      ctx.strokeStyle = "rgba(255, 255, 255, 0.8)";
      ctx.lineWidth = devicePixelRatio;
      ctx.beginPath();
      ctx.arc(...onCanvas(cursor), r, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  function show(state) {
    const another = state.stack !== layer?.stack;
    layer = state;
    img.onerror = null;
    img.onload = () => { onPicture(); fitCanvas(); drawTrail(); };
    img.src = `/api/bursts/${burstId}/retouch.jpg?stack=${state.stack}&v=${state.revision}`;
    // The zoom's full-size tiles come from the stack's export while no stroke changed it; after that they
    // would hide the strokes, and a zoom enlarges this picture instead.
    if (!state.strokes.length && state.about.export) img.dataset.export = state.about.export;
    else delete img.dataset.export;
    img.hidden = false;
    img.dataset.stack = state.stack;
    img.dataset.revision = String(state.revision);
    panel.hidden = canvas.hidden = false;
    $("#retouch-undo").disabled = !state.strokes.length;
    $("#retouch-redo").disabled = !state.undone;
    $("#retouch-status").textContent = describe(state.strokes.length, state) +
      (state.earlier.length ? `; ${state.earlier.length} earlier stack${state.earlier.length === 1 ? " is" : "s are"} kept with ${state.earlier.length === 1 ? "its" : "their"} strokes` : "");
    earlier.replaceChildren(...state.earlier.map((e) => el("option", { value: e.stack }, describe(e.strokes, e))));
    $("#retouch-earlier").hidden = !state.earlier.length;
    const chosen = source.value;
    source.replaceChildren(el("option", { value: "frame" }, "the frame on the scrubber"),
      ...state.slabs.map(([first, last], k) => el("option", { value: `slab-${k}` }, `slab ${k + 1} (frames ${frameNumber(first)}–${frameNumber(last)})`)));
    if ([...source.options].some((o) => o.value === chosen)) source.value = chosen;
    if (another) onStack(state);
  }

  // "3 strokes over the stack of frames 6–60 (4 slabs)", of the layer painted now or of an earlier one.
  function describe(n, { about }) {
    const [a, b] = about.range || [0, 0];
    return `${n} stroke${n === 1 ? "" : "s"} over the stack of frames ${frameNumber(a)}–${frameNumber(b)}` + (about.slabs ? ` (${about.slabs} slabs)` : "");
  }

  function load() {
    loading = fetchLayer();
    return loading;
  }

  async function fetchLayer() {
    const kept = await api("GET", `/api/bursts/${burstId}/retouch`).catch((err) => toast(err.message, "error"));
    if (!kept) return; // null: nothing stacked yet, nothing to retouch
    show(kept);
    // The brushes that pick a frame read the focus index: after a server restart it may have to be made again.
    api("POST", `/api/bursts/${burstId}/refocus-map`).catch(() => {});
  }

  function at(event) {
    const rect = img.getBoundingClientRect();
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height)];
  }

  // Painting is the canvas's: the zoom under it must not take the same pointer for a pan.
  for (const type of ["pointerdown", "pointermove", "pointerup", "pointercancel"]) {
    canvas.addEventListener(type, (event) => event.stopPropagation());
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    canvas.setPointerCapture(event.pointerId);
    points = [at(event)];
    drawTrail();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (points) {
      for (const e of event.getCoalescedEvents ? event.getCoalescedEvents() : [event]) points.push(at(e));
    }
    drawTrail(event.pointerType === "touch" ? null : at(event));
  });
  canvas.addEventListener("pointerleave", () => { if (!points) drawTrail(); });
  canvas.addEventListener("pointercancel", () => { points = null; drawTrail(); });
  canvas.addEventListener("pointerup", async () => {
    if (!points) return;
    const step = Math.ceil(points.length / MAX_POINTS);
    const path = points.filter((_, i) => i % step === 0 || i === points.length - 1);
    const body = { points: path, radius: radiusPx() / img.getBoundingClientRect().width,
      hardness: Number($("#brush-hardness").value) / 100, opacity: Number($("#brush-opacity").value) / 100,
      brush: $("#brush").value };
    if (body.brush === "chosen") {
      body.source = source.value === "frame" ? { kind: "frame", number: Number(frame.value) }
        : { kind: "slab", number: Number(source.value.slice(5)) };
    }
    const state = await attempt(() => api("POST", `/api/bursts/${burstId}/retouch/strokes`, body));
    points = null;
    if (state) show(state);
    else drawTrail();
  });

  // The scrubber chooses the frame to copy: moving it picks the "chosen" brush and shows that frame.
  frame.addEventListener("input", () => {
    $("#brush").value = "chosen";
    source.value = "frame";
    showFrame(Number(frame.value));
  });
  source.addEventListener("change", () => { $("#brush").value = "chosen"; });

  const step = (action) => async () => {
    const state = await attempt(() => api("POST", `/api/bursts/${burstId}/retouch/${action}`));
    if (state) show(state);
  };
  $("#retouch-undo").addEventListener("click", step("undo"));
  $("#retouch-redo").addEventListener("click", step("redo"));
  document.addEventListener("keydown", (event) => {
    if (!layer || !(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z") return;
    if (event.target.matches("input[type=number], input[type=text], textarea")) return; // the field's own undo
    event.preventDefault();
    step(event.shiftKey ? "redo" : "undo")();
  });

  $("#retouch-restore").addEventListener("click", async () => {
    const state = await attempt(() => api("POST", `/api/bursts/${burstId}/retouch/restore`, { stack: earlier.value }));
    if (state) show(state);
  });

  $("#retouch-export").addEventListener("click", async () => {
    const started = await attempt(() => api("POST", `/api/bursts/${burstId}/retouch/export`, { format: $("#format").value }));
    if (!started) return;
    $("#retouch-download").hidden = true; // the last export's link, until this one is made
    const done = await follow(started.job, { status: "#retouch-export-status" }).catch((err) => { toast(err.message, "error"); return null; });
    if (!done) return;
    const link = $("#retouch-download");
    link.href = `/api/exports/${done.result.export}`;
    link.textContent = `Download ${done.result.name}`;
    link.hidden = false;
  });

  // A stack of this burst ended (this browser's or another's), or another browser painted, undid or restored:
  // show what the burst now holds. Each asks the server once; the Stack page asks nothing more of its own.
  on("job.done", (job) => { if (job.job_kind === "stack" && job.subject === burstId) load(); });
  on("retouch.changed", (event) => {
    if (event.burst === burstId && (event.stack !== layer?.stack || event.revision !== layer?.revision)) load();
  });
  // Back after a loss (maybe a restarted server): the layer may have changed while the page was away.
  on("connection", ({ again }) => { if (again) load(); });
  addEventListener("resize", fitCanvas);

  return {
    load,
    // the layer shown once the load under way (if any) has answered; null before a stack
    kept: () => loading.then(() => layer),
    setFrames(count) { frame.max = String(count - 1); },
  };
}
