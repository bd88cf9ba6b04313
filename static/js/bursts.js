// The Bursts page: gallery with thumbnail, date, camera and frame count; delete, download, export.
import { $, api, attempt, connect, el, formatDate, on, toast } from "./core.js";
import { follow } from "./jobs.js";

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
      $(status).replaceChildren(el("a", { href: `/api/exports/${done.result.export}`, download: "" }, `Download ${done.result.name}`));
      loadExports();
    }
  };
  return el("article", { class: "burst-card", dataset: { burst: b.id } },
    el("a", { href: `/refocus/${b.id}`, class: "thumb" },
      b.frame_count ? el("img", { src: `/api/bursts/${b.id}/thumbnail.jpg`, alt: `burst ${b.id}`, loading: "lazy" }) : null),
    el("h3", {}, formatDate(b.created)),
    el("p", { class: "meta" }, `${b.camera || "unknown camera"} · ${b.frame_count} frames · ${b.sources.join(", ")}`
      + (b.status !== "complete" ? ` · ${b.status}` : "") + (b.recovered ? " · recovered" : "")),
    el("div", { class: "actions" },
      el("a", { href: `/refocus/${b.id}`, class: "button" }, "Refocus"),
      el("a", { href: `/stack/${b.id}`, class: "button" }, "Stack"),
      el("a", { href: `/api/bursts/${b.id}/download`, class: "button", download: "" }, "Download"),
      el("button", { type: "button", onclick: exportTo("zip") }, "Export JPEGs"),
      el("button", { type: "button", onclick: exportTo("mp4") }, "Export MP4"),
      el("button", { type: "button", class: "danger", onclick: () => remove(b.id) }, "Delete")),
    ...EXPORTS.map((format) => el("p", { id: `status-${b.id}-${format}`, class: "status" })));
}

async function remove(id) {
  if (!confirm("Delete this burst? Its frames cannot be recovered.")) return;
  await attempt(() => api("DELETE", `/api/bursts/${id}`));
}

async function load() {
  const list = await attempt(() => api("GET", "/api/bursts"));
  if (!list) return;
  const gallery = $("#gallery");
  gallery.replaceChildren(...(list.length ? list.map(card) : [el("p", { class: "muted" }, "No bursts yet: run a sweep on the Post Focus page.")]));
}

async function loadExports() {
  const list = await attempt(() => api("GET", "/api/exports"));
  if (!list) return;
  $("#exports").replaceChildren(...list.map((e) =>
    el("li", {}, el("a", { href: `/api/exports/${e.id}`, download: "" }, e.name), ` (${(e.size / 1e6).toFixed(1)} MB)`)));
}

// what another browser does shows here too
on("burst.added", load);
on("burst.deleted", (ev) => { const node = document.querySelector(`[data-burst="${CSS.escape(ev.burst)}"]`); if (node) node.remove(); });
on("export.added", loadExports);
load();
loadExports();
