// The Bursts page: gallery with thumbnail, title, date, camera and frame count; filter by session and search
// names and notes; rename and note a burst; delete, download, export.
import { $, api, attempt, connect, el, formatDate, on, toast } from "./core.js";
import { follow } from "./jobs.js";
import { loadSessions, sessionLabel } from "./sessions.js";

connect();
const EXPORTS = ["zip", "mp4"];

function card(b) {
  if (b.error) {
    return el("article", { class: "burst-card damaged", dataset: { burst: b.id } },
      el("h3", {}, b.id), el("p", { class: "warning" }, b.error),
      el("button", { type: "button", onclick: () => remove(b.id) }, "Delete"));
  }
  const exportTo = (format) => async () => {
    const started = await attempt(() => api("POST", `/api/bursts/${b.id}/export`, { format }));
    if (!started) return;
    // one line per kind of export, so an MP4's progress never replaces the ZIP's download link
    const status = `#status-${b.id}-${format}`;
    const done = await follow(started.job, { status }).catch((err) => toast(err.message, "error"));
    if (done && done.result) {
      $(status).replaceChildren(el("a", { href: `/api/exports/${done.result.export}`, download: "" }, `Download ${done.result.name}`),
        exportedNote(b.frame_count, done.result));
      loadExports();
    }
  };
  return el("article", { class: "burst-card", dataset: { burst: b.id } },
    el("a", { href: `/refocus/${b.id}`, class: "thumb" },
      b.frame_count ? el("img", { src: `/api/bursts/${b.id}/thumbnail.jpg?v=${b.bytes}`, alt: `burst ${b.id}`, loading: "lazy" }) : null),
    el("h3", { class: "title" }, b.title || b.id),
    el("p", { class: "meta" }, `${b.title ? `${b.id} · ` : ""}${formatDate(b.created)} · ${sessionNames.get(b.session) || b.session}`),
    el("p", { class: "meta" }, `${b.camera || "unknown camera"} · ${b.frame_count} frames · ${b.sources.join(", ")}`
      + (b.status !== "complete" ? ` · ${b.status}` : "") + (b.recovered ? " · recovered" : "")),
    b.notes ? el("p", { class: "notes" }, b.notes) : null,
    labelsForm(b),
    el("div", { class: "actions" },
      el("a", { href: `/refocus/${b.id}`, class: "button" }, "Refocus"),
      el("a", { href: `/stack/${b.id}`, class: "button" }, "Stack"),
      el("a", { href: `/api/bursts/${b.id}/download`, class: "button", download: "" }, "Download"),
      el("button", { type: "button", onclick: exportTo("zip") }, "Export JPEGs"),
      el("button", { type: "button", onclick: exportTo("mp4") }, "Export MP4"),
      el("button", { type: "button", onclick: (e) => { e.target.closest(".burst-card").querySelector(".labels").hidden = false; } },
        "Rename / notes"),
      el("button", { type: "button", class: "danger", onclick: () => remove(b.id) }, "Delete")),
    ...EXPORTS.map((format) => el("p", { id: `status-${b.id}-${format}`, class: "status" })));
}

// After an export's link: "Exported 58 frames; left out damaged frames 12, 40" (`skipped`: the frames the server
// left out, counted from 1 as people read them), as a warning then: the export is not the whole burst.
function exportedNote(count, { skipped = [] }) {
  const frames = (n) => `${n} frame${n === 1 ? "" : "s"}`;
  const left = skipped.length ? `; left out damaged frame${skipped.length === 1 ? "" : "s"} ${skipped.join(", ")}` : "";
  return el("span", { class: left ? "warning" : "" }, ` Exported ${frames(count - skipped.length)}${left}`);
}

// the title and notes are kept in the burst file itself (they travel with it)
function labelsForm(b) {
  const save = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { title: form.elements.title.value, notes: form.elements.notes.value };
    if (await attempt(() => api("PATCH", `/api/bursts/${b.id}`, body))) {
      form.hidden = true;
      load();
    }
  };
  return el("form", { class: "labels", hidden: true, onsubmit: save },
    el("label", {}, "Title ", el("input", { type: "text", name: "title", value: b.title, maxlength: 200, placeholder: b.id })),
    el("label", {}, "Notes ", el("textarea", { name: "notes", maxlength: 4000, rows: 3 }, b.notes)),
    el("button", { type: "submit" }, "Save"));
}

async function remove(id) {
  if (!confirm("Delete this burst? Its frames cannot be recovered.")) return;
  await attempt(() => api("DELETE", `/api/bursts/${id}`));
}

const sessionNames = new Map();

async function loadFilter() {
  const data = await loadSessions();
  if (!data) return;
  for (const s of data.sessions) sessionNames.set(s.id, sessionLabel(s));
  const chooser = $("#filter-session");
  const chosen = chooser.value;
  chooser.replaceChildren(el("option", { value: "" }, "All sessions"),
    ...data.sessions.map((s) => el("option", { value: s.id, selected: s.id === chosen }, sessionLabel(s))));
}

// answers can come back out of order while someone types: only the last request's answer is shown
let asked = 0;
async function load() {
  const query = new URLSearchParams({ session: $("#filter-session").value, q: $("#search").value.trim() });
  const mine = ++asked;
  const list = await attempt(() => api("GET", `/api/bursts?${query}`));
  if (!list || mine !== asked) return;
  const filtered = query.get("session") || query.get("q");
  const empty = filtered ? "No burst matches." : "No bursts yet: run a sweep on the Post Focus page.";
  // a card whose title and notes are being edited stays as it is (what was typed, and the focus):
  // another browser's change, or a sweep's, must not throw the edit away
  const editing = new Map([...document.querySelectorAll("#gallery .labels:not([hidden])")]
    .map((form) => { const node = form.closest(".burst-card"); return [node.dataset.burst, node]; }));
  const typing = document.activeElement;
  const caret = typing && "selectionStart" in typing ? [typing.selectionStart, typing.selectionEnd] : null;
  $("#gallery").replaceChildren(...(list.length ? list.map((b) => editing.get(b.id) || card(b))
    : [el("p", { class: "muted" }, empty)]));
  if (typing && typing !== document.activeElement && typing.isConnected) {  // moved, so it lost the focus
    typing.focus();
    if (caret) typing.setSelectionRange(...caret);
  }
}

// what the user exported (the server leaves out the files the panel makes for itself), each with its delete
async function loadExports() {
  const list = await attempt(() => api("GET", "/api/exports"));
  if (!list) return;
  $("#exports").replaceChildren(...list.map((e) =>
    el("li", { dataset: { export: e.id } }, el("a", { href: `/api/exports/${e.id}`, download: "" }, e.name),
      ` (${(e.size / 1e6).toFixed(1)} MB) `,
      el("button", { type: "button", class: "danger", "aria-label": `Delete ${e.name}`, onclick: () => removeExport(e) },
        "Delete"))));
}

async function removeExport(e) {
  if (!confirm(`Delete ${e.name}? The file cannot be recovered.`)) return;
  await attempt(() => api("DELETE", `/api/exports/${encodeURIComponent(e.id)}`));
}

$("#filter-session").addEventListener("change", load);
$("#search").addEventListener("input", load);

// what another browser does shows here too
on("burst.added", load);
on("burst.changed", load);
on("session.changed", loadFilter);
on("burst.deleted", (ev) => { const node = document.querySelector(`[data-burst="${CSS.escape(ev.burst)}"]`); if (node) node.remove(); });
on("export.added", loadExports);
on("export.deleted", (ev) => $(`[data-export="${CSS.escape(ev.export)}"]`)?.remove());
loadFilter().then(load);
loadExports();
