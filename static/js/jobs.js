// Following one job to its end: a progress bar, a status line, and a promise of the result.
import { $, on, progressText, state } from "./core.js";

const waiting = new Map();

on("job.progress", (ev) => update(ev));
on("job.done", (ev) => { update(ev); settle(ev, ev.state !== "cancelled"); });
on("job.error", (ev) => { update(ev); settle(ev, false); });

function update(ev) {
  const w = waiting.get(ev.job);
  if (!w) return;
  const fraction = ev.type === "job.done" && ev.state !== "cancelled" ? 1 : ev.fraction || 0;
  if (w.bar) { w.bar.style.width = `${Math.round(100 * fraction)}%`; w.bar.dataset.fraction = fraction; }
  if (w.status) w.status.textContent = ev.type === "job.error" ? `${ev.label || "job"}: ${ev.error}` : progressText(ev);
  if (w.onEvent) w.onEvent(ev);
}

function settle(ev, ok) {
  const w = waiting.get(ev.job);
  if (!w) return;
  waiting.delete(ev.job);
  if (ok) w.resolve(ev); else w.reject(new Error(ev.state === "cancelled" ? "cancelled" : ev.error || "failed"));
}

// Resolve with the job's final event (job.done) or reject with its error; progress goes to bar/status.
export function follow(jobId, { bar, status, onEvent } = {}) {
  return new Promise((resolve, reject) => {
    waiting.set(jobId, { resolve, reject, bar: bar && $(bar), status: status && $(status), onEvent });
    const known = state.jobs.get(jobId);
    if (known) {
      update({ ...known, job: jobId });
      if (known.state === "done") settle({ ...known, job: jobId }, true);
      else if (known.type === "job.error" || ["error", "cancelled"].includes(known.state)) settle({ ...known, job: jobId }, false);
    }
  });
}
