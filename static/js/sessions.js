// Sessions in the panel: the bar choosing the session captures land in (with its barcode / SKU field, which
// a scanner types into like a keyboard), the form creating one, and the stills strip that shows each still
// as it arrives with its exposure, ISO and aperture. The gallery reads the session list from here too.
import { $, api, attempt, cameraId, el, on } from "./core.js";

let current = null;

export const sessionLabel = (s) => (s.client ? `${s.name} · ${s.client}` : s.name);
export const loadSessions = () => attempt(() => api("GET", "/api/sessions"));

function showCurrent(session) {
  current = session;
  $("#session-chooser").value = session.id;
  $("#session-subject").value = session.subject || "";
  $("#session-subject").disabled = !session.template;
  $("#session-subject").title = session.template ? "" : "a session's naming template can use it as {subject}";
  showNaming(session);
}

// What the files will be called, as the server will name them: the session's next name (its template filled
// in), or, before any session, the camera's names for stills and the date and time for sweeps.
async function showNaming(session) {
  const hint = $("#session-naming");
  if (!session.template) {
    hint.textContent = "names: stills keep the camera's, sweeps get the date and time";
    return;
  }
  const next = await attempt(() => api("GET", `/api/sessions/${encodeURIComponent(session.id)}/next-name?camera=${encodeURIComponent(cameraId())}`));
  if (!next || current?.id !== session.id) return;  // another session was chosen meanwhile
  const unused = session.subject && !session.template.includes("{subject}") ? " (the barcode is not part of it)" : "";
  hint.textContent = `next name: ${next.name}${unused}`;
}

async function loadBar() {
  const data = await loadSessions();
  if (!data) return;
  $("#session-chooser").replaceChildren(...data.sessions.map((s) => el("option", { value: s.id }, sessionLabel(s))));
  $("#session-template").placeholder = data.default_template;
  $("#session-template").title = Object.entries(data.tokens).map(([t, what]) => `{${t}}: ${what}`).join("\n");
  showCurrent(data.sessions.find((s) => s.id === data.current));
  loadStills();
}

function exifText(exif) {
  return [exif.exposure, exif.iso && `ISO ${exif.iso}`, exif.aperture].filter(Boolean).join(" · ") || "no EXIF";
}

function still(s) {
  return el("figure", { class: "still", dataset: { still: s.still } },
    el("a", { href: `/api/exports/${s.still}?inline=1`, target: "_blank" },
      el("img", { src: `/api/stills/${s.still}/preview.jpg`, alt: `still ${s.name}` })),
    el("figcaption", {}, el("a", { href: `/api/exports/${s.still}`, download: "", class: "still-name" }, s.name),
      el("span", { class: "exif" }, exifText(s.exif))));
}

async function loadStills() {
  const list = await attempt(() => api("GET", `/api/sessions/${current.id}/stills`));
  if (list) $("#stills-list").replaceChildren(...list.slice(0, 24).map(still));
}

async function createSession(event) {
  event.preventDefault();
  const form = event.target;
  const value = (name) => form.elements[name].value.trim();
  const body = { name: value("name"), client: value("client"), notes: value("notes") };
  if (value("template")) body.template = value("template");
  const made = await attempt(() => api("POST", "/api/sessions", body));
  if (!made) return;
  form.reset();
  form.hidden = true;
  loadBar();
}

export function startSessionBar() {
  $("#session-chooser").addEventListener("change", async (e) => {
    const chosen = await attempt(() => api("POST", `/api/sessions/${encodeURIComponent(e.target.value)}/use`));
    if (chosen) { showCurrent(chosen); loadStills(); } else $("#session-chooser").value = current.id;
  });
  $("#session-new").addEventListener("click", () => { $("#session-form").hidden = false; $("#session-form [name=name]").focus(); });
  $("#session-cancel").addEventListener("click", () => { $("#session-form").hidden = true; });
  $("#session-form").addEventListener("submit", createSession);
  // a scanner ends the code with Enter: save it, and select it so that the next scan replaces it
  $("#session-subject").addEventListener("change", async (e) => {
    const saved = await attempt(() => api("PATCH", `/api/sessions/${current.id}`, { subject: e.target.value.trim() }));
    if (saved) { showCurrent(saved); e.target.select(); }
  });
  // clicked into before a scan: the whole code is selected, so the scan replaces it rather than adding to it
  // (after the click is done: a click on a field that is already selected collapses what its handler selects)
  $("#session-subject").addEventListener("click", (e) => setTimeout(() => e.target.select()));
  on("session.changed", (ev) => {
    if (ev.session.id !== current?.id) loadBar(); else showCurrent(ev.session);
  });
  on("still.added", (ev) => {
    // the list being loaded again (after a reconnect) may have it already
    $(`[data-still="${CSS.escape(ev.still)}"]`)?.remove();
    $("#stills-list").prepend(still(ev));
    if (current) showNaming(current);  // the counter moved on
  });
  on("burst.added", () => current && showNaming(current));
  on("connection", ({ again }) => { if (again) loadBar(); });
  loadBar();
}
