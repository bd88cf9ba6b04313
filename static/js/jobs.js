// Following one job to its end: a progress bar, a status line, and a promise of the result.
import { $, FINISHED, JOB_EVENTS, on, progressText, state } from "./core.js";

const waiting = new Map();

for (const type of JOB_EVENTS) on(type, (job) => show(job));

function show(job) {
  const w = waiting.get(job.job);
  if (!w) return;
  if (w.bar) { w.bar.style.width = `${Math.round(100 * job.fraction)}%`; w.bar.dataset.fraction = job.fraction; }
  if (w.status) w.status.textContent = job.state === "error" ? `${job.label}: ${job.error}` : progressText(job);
  if (w.onEvent) w.onEvent(job);
  if (!FINISHED.has(job.state)) return;
  waiting.delete(job.job);
  if (job.state === "done") w.resolve(job);
  else w.reject(Object.assign(new Error(job.state === "cancelled" ? "cancelled" : job.error), { job }));
}

// Every connect brings a snapshot, the server's word on its jobs: a followed job that ended while the page
// was away ends here too, and one the server no longer knows (it restarted) ends as lost. Only a job followed
// before the connection was lost can be: the first snapshot of a connection may have been made before a job
// the page started on it (the page's request and the snapshot cross), whose events are still to come.
let losses = 0;
on("connection", ({ connected }) => { if (!connected) losses += 1; });
on("snapshot", () => {
  for (const jobId of [...waiting.keys()]) {
    const known = state.jobs.get(jobId);
    if (known) { show(known); continue; }
    const w = waiting.get(jobId);
    if (w.losses === losses) continue;
    waiting.delete(jobId);
    w.reject(Object.assign(new Error("the server restarted and no longer runs this job"), { lost: true }));
  }
});

// Resolve with the finished job (its result in .result) or reject with its error (.lost: the server restarted
// without it); progress goes to bar/status.
export function follow(jobId, { bar, status, onEvent } = {}) {
  return new Promise((resolve, reject) => {
    waiting.set(jobId, { resolve, reject, bar: bar && $(bar), status: status && $(status), onEvent, losses });
    const known = state.jobs.get(jobId);
    if (known) show(known);
  });
}
