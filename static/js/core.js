// Shared by every page: the REST helper, the Socket.IO connection (snapshot, then events),
// toasts, and the header's connection and camera state.
import { io } from "/vendor/socket.io.esm.min.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(child));
  }
  return node;
}

// The number a person reads for the frame at 0-based `index`: the panel counts frames from 1, the API's
// fields from 0 (README "Frame numbers"; tether/numbering.py is the server's side of the same rule).
export const frameNumber = (index) => index + 1;

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error + (body.hint ? ` (${body.hint})` : "") : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// JSON in, JSON out; an error answer becomes an ApiError carrying the server's message.
export async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options).catch(() => {
    // fetch rejects only when no answer came at all: say so instead of the browser's "Failed to fetch"
    throw new ApiError(0, { error: "the tether server is unreachable", hint: "it is retried; wait for it to come back" });
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function toast(message, kind = "info", ms = 5000) {
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  $("#toasts").append(node);
  setTimeout(() => node.remove(), ms);
}

// Run an async action from a button; show the server's message if it fails.
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    toast(err.message, "error", 8000);
    return undefined;
  }
}

export function cameraId() {
  return localStorage.getItem("tether.camera") || document.body.dataset.camera;
}

export function setCameraId(id) {
  localStorage.setItem("tether.camera", id);
}

export const cameraPath = (id = cameraId()) => `/api/cameras/${encodeURIComponent(id)}`;

// The live state: the snapshot from connect, kept current by events. Pages subscribe by event type.
export const state = { snapshot: null, jobs: new Map(), cameras: new Map(), connected: false };
const listeners = new Map();

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, []);
  listeners.get(type).push(fn);
}

function fire(type, payload) {
  for (const fn of listeners.get(type) || []) {
    try { fn(payload); } catch (err) { console.error(err); }
  }
  for (const fn of listeners.get("*") || []) {
    try { fn(payload); } catch (err) { console.error(err); }
  }
}

function applySnapshot(snapshot) {
  state.snapshot = snapshot;
  state.jobs = new Map((snapshot.jobs || []).map((j) => [j.job, j]));
  state.cameras = new Map((snapshot.cameras || []).map((c) => [c.camera, c]));
  showCameraState();
  fire("snapshot", snapshot);
}

function showCameraState() {
  const node = $("#camera-state");
  const cam = state.cameras.get(cameraId()) || [...state.cameras.values()][0];
  if (!node || !cam) return;
  if (!state.connected) { // the last state heard is stale: the camera may have changed since
    node.dataset.state = "unknown";
    node.replaceChildren(el("span", { class: "camera-model" }, "camera: "), "unknown");
    return;
  }
  node.dataset.state = cam.state;
  const model = (cam.info && cam.info.model) || cam.camera;
  // the model is a span of its own: a phone's one-row header says the state only (tether.css)
  node.replaceChildren(el("span", { class: "camera-model" }, `${model}: `),
    `${String(cam.state).replace("_", " ")}${cam.message ? ` (${cam.message})` : ""}`);
}

// Every job event carries the job's whole state (tether/jobs.py), so the latest one replaces the last.
function applyEvent(event) {
  if (event.type === "camera.state") {
    const cam = state.cameras.get(event.camera) || { camera: event.camera };
    state.cameras.set(event.camera, { ...cam, state: event.state, message: event.message });
    showCameraState();
  } else if (JOB_EVENTS.has(event.type)) {
    const known = state.jobs.get(event.job);
    if (known && FINISHED.has(known.state) && !FINISHED.has(event.state)) return; // a late progress report
    state.jobs.set(event.job, event);
  }
  fire(event.type, event);
}

export const JOB_EVENTS = new Set(["job.progress", "job.done", "job.cancelled", "job.error"]);
export const FINISHED = new Set(["done", "cancelled", "error"]);

// While the server is away, what needs it is greyed out and cannot be used (inert); the Socket.IO
// client keeps retrying, and the "connection" event tells the pages to pick up again when it is back.
let everConnected = false;
function setConnected(connected) {
  const changed = state.connected !== connected;
  // back after a loss (maybe a restarted server): what the page loaded from it may be stale
  const again = connected && changed && everConnected;
  everConnected ||= connected;
  state.connected = connected;
  const badge = $("#connection");
  badge.textContent = connected ? "connected" : "server unreachable — retrying…";
  badge.dataset.state = connected ? "connected" : "disconnected";
  document.body.dataset.server = connected ? "up" : "down";
  const main = $("main");
  if (main) main.inert = !connected;
  showCameraState();
  if (changed) fire("connection", { connected, again });
}

export function connect() {
  // retried every 2 s at most (not 5): a restarted server is back in the panel soon after it answers
  const socket = io({ transports: ["websocket", "polling"], withCredentials: true, reconnectionDelayMax: 2000 });
  socket.on("connect", () => setConnected(true));
  socket.on("disconnect", () => setConnected(false));
  socket.on("connect_error", () => setConnected(false));
  socket.on("snapshot", applySnapshot);
  socket.on("event", applyEvent);
  window.tetherSocket = socket; // for the browser tests and the console
  return socket;
}

export function progressText(job) {
  // a cancelled job stopped where it was: no time left to count down, no rate
  if (job.state === "cancelled") return `${job.label}: cancelled${job.total ? ` after ${Math.round(job.done)} of ${Math.round(job.total)}` : ""}`;
  // a finished job's last phase ("analysing", "stacking") is over: say it is done, not where it was
  if (job.state === "done") return `${job.label}: done${job.total > 1 ? ` — ${Math.round(job.total)} of ${Math.round(job.total)}` : ""}`;
  const pct = Math.round(100 * (job.fraction || 0));
  const items = job.total ? ` — ${Math.round(job.done)} of ${Math.round(job.total)}` : "";
  const eta = job.eta ? `, about ${Math.ceil(job.eta)} s left` : "";
  const fps = job.fps ? `, ${Number(job.fps).toFixed(1)} fps` : "";
  return `${job.label}: ${pct} %${items}${fps}${eta}${job.phase ? ` (${job.phase})` : ""}`;
}

export function formatDate(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}
