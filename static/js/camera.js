// The Camera page: live view with grid, peaking, histogram, loupe; chooser; settings; capture.
import { $, $$, api, attempt, cameraId, cameraPath, connect, el, on, setCameraId, state, toast } from "./core.js";
import { startLiveView } from "./liveview.js";
import { startSessionBar } from "./sessions.js";

connect();
startSessionBar();
startLiveView({ peaking: true, histogram: true, loupe: true });

$("#toggle-grid").addEventListener("change", (e) => { $("#grid").hidden = !e.target.checked; });

async function loadCameras(refresh = false) {
  const data = await attempt(() => (refresh ? api("POST", "/api/cameras/refresh") : api("GET", "/api/cameras")));
  if (!data) return;
  const chooser = $("#camera-chooser");
  chooser.replaceChildren(...data.available.map((c) =>
    el("option", { value: c.id, selected: c.id === cameraId() }, `${c.model}${c.simulated ? " (simulated)" : ""} — ${c.id}`)));
  if (![...chooser.options].some((o) => o.value === cameraId())) {
    chooser.prepend(el("option", { value: cameraId(), selected: true }, cameraId()));
  }
}

$("#camera-chooser").addEventListener("change", async (e) => {
  const id = e.target.value;
  const opened = await attempt(() => api("POST", "/api/cameras/open", { id }));
  if (!opened) return;
  setCameraId(id);
  location.reload();
});
$("#refresh-cameras").addEventListener("click", () => loadCameras(true));

// The camera's value of a setting on its control; remembered, so a refused change can be undone.
const known = new Map();
function showSetting(setting) {
  known.set(setting.name, setting.value);
  const input = $(`[data-setting="${CSS.escape(setting.name)}"]`);
  if (!input) return;
  if (input.type === "checkbox") input.checked = !!setting.value;
  else input.value = setting.value;
  const shown = input.parentElement.querySelector(".value");
  if (shown) shown.textContent = String(setting.value);
}

// settings panel, generated from the descriptors and grouped
function settingInput(s) {
  const id = `setting-${s.name}`;
  const send = async (value) => {
    const updated = await attempt(() => api("PUT", `${cameraPath()}/settings/${encodeURIComponent(s.name)}`, { value }));
    // refused (busy, out of range, server away): the camera kept its value, so the control shows it again
    showSetting(updated || { name: s.name, value: known.get(s.name) });
    if (updated) toast(`${updated.label}: ${updated.value}`);
  };
  let input;
  if (s.kind === "choice") {
    input = el("select", { id, disabled: s.read_only, onchange: (e) => send(e.target.value) },
      s.choices.map((c) => el("option", { value: c, selected: String(s.value) === c }, c)));
  } else if (s.kind === "range") {
    input = el("input", { id, type: "range", min: s.minimum, max: s.maximum, step: s.step || "any", value: s.value,
      disabled: s.read_only, onchange: (e) => send(Number(e.target.value)),
      oninput: (e) => { e.target.parentElement.querySelector(".value").textContent = e.target.value; } });
  } else if (s.kind === "toggle") {
    input = el("input", { id, type: "checkbox", checked: !!s.value, disabled: s.read_only,
      onchange: (e) => send(e.target.checked) });
  } else {
    input = el("input", { id, type: "text", value: s.value ?? "", disabled: s.read_only,
      onchange: (e) => send(e.target.value) });
  }
  input.dataset.setting = s.name;
  known.set(s.name, s.value);
  const shown = s.kind === "range" ? el("span", { class: "value" }, String(s.value)) : null;
  return el("label", { class: `setting ${s.kind}` }, el("span", { class: "label" }, s.label), input, shown);
}

async function loadSettings() {
  const list = await attempt(() => api("GET", `${cameraPath()}/settings`));
  const box = $("#settings");
  if (!list) { box.replaceChildren(el("p", { class: "muted" }, "Settings unavailable.")); return; }
  const groups = new Map();
  for (const s of list) {
    if (!groups.has(s.group)) groups.set(s.group, []);
    groups.get(s.group).push(s);
  }
  box.replaceChildren(...[...groups].map(([group, items]) =>
    el("details", { open: true, class: "setting-group" }, el("summary", {}, group), items.map(settingInput))));
}

// another browser changed a setting: show it here too
on("camera.setting", (ev) => showSetting(ev.setting));

$("#capture").addEventListener("click", async () => {
  $("#capture").disabled = true;
  const result = await attempt(() => api("POST", `${cameraPath()}/capture`));
  $("#capture").disabled = false;
  if (result) {
    $("#capture-result").replaceChildren(el("a", { href: `/api/exports/${result.export}`, download: "" },
      `Download ${result.name} (${result.width}×${result.height})`));
  }
});

$$("[data-focus]").forEach((button) => button.addEventListener("click", () =>
  attempt(() => api("POST", `${cameraPath()}/focus`, { direction: button.dataset.focus, step: button.dataset.step }))));

// a camera remembered from an earlier session that is not open now: fall back to the server's
on("snapshot", () => {
  if (state.cameras.size && !state.cameras.has(cameraId())) { setCameraId(document.body.dataset.camera); location.reload(); }
});
// the server is back (maybe restarted, maybe with another camera): load what the page shows again
on("connection", ({ again }) => { if (again) { loadCameras(); loadSettings(); } });
loadCameras();
loadSettings();
