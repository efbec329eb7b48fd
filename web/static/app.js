// The page, live. Without JavaScript it still works: the form posts and
// redirects back, "Load more" is a link. With it, the list updates itself.
//
// Why a cursor-based poll and not server-sent events: the web may run as
// several instances behind a load balancer with no shared state, so any
// instance must be able to answer. Every 1.5 s the page asks only for what
// changed: messages newer than the newest it has (`after`), and the pending
// messages it shows (`watch`). It never re-downloads the table.
// The pipeline strip, from the snapshot the server shares among its pages
// (`/api/pipeline`, or `pipeline` in an update): "?" for what it could not
// read.
function setPipeline(pipeline) {
  "use strict";
  if (!pipeline) return;
  const set = (id, count) => {
    const element = document.getElementById(id);
    if (element) element.textContent = count == null ? "?" : String(count);
  };
  const queue = pipeline.queue || {};
  set("pipe-waiting", queue.waiting);
  set("pipe-in-flight", queue.in_flight);
  set("count-in_flight", queue.in_flight);
  set("pipe-delayed", queue.delayed);
  const counts = pipeline.counts || {};
  for (const status of ["pending", "complete", "fail"]) set("pipe-" + status, counts[status]);
  if (pipeline.has_dead_letters) set("pipe-dead-letters", pipeline.dead_letters);
  // The header's badge: each figure hidden at zero, kept when not known.
  const badge = (id, count) => {
    const element = document.getElementById(id);
    if (!element || count == null) return;
    document.getElementById(id + "-count").textContent = String(count);
    element.hidden = count === 0;
  };
  badge("badge-failed", counts.fail);
  badge("badge-dead", pipeline.dead_letters);
  // The oldest pending message: when it was created; the tick counts it.
  const oldest = document.getElementById("pipe-oldest-line");
  if (oldest && "oldest_pending_at" in pipeline) {
    if (pipeline.oldest_pending_at) oldest.dataset.since = pipeline.oldest_pending_at;
    else oldest.removeAttribute("data-since");
    showOldest(oldest);
  }
  const worker = document.getElementById("pipe-worker");
  const phrases = { sqsd: "fed by sqsd", polling: "polling the queue, as sqsd would", manual: "manual: waits for Process", unreachable: "not answering" };
  if (worker && phrases[pipeline.worker]) {
    worker.textContent = phrases[pipeline.worker];
    worker.dataset.mode = pipeline.worker;
  }
  // Messages waiting and none taken for a while: the warning, or none.
  const stuck = document.getElementById("pipe-stuck");
  if (stuck) {
    stuck.hidden = !pipeline.stuck;
    stuck.textContent = pipeline.stuck || "";
  }
}

// A message's state as a status cell shows it: its status, or for a pending
// one where it is (`progress` in the API): "running for 2.1 s", "retrying
// in 28 s" (web/src/row_state.rs draws the same without JavaScript). The
// figure is kept current by tickStates from the time it carries.
function shownState(message) {
  "use strict";
  const progress = message.progress || {};
  if (message.status !== "pending") return { name: message.status };
  if (progress.state === "running") return { name: "running", since: progress.since, deadline: progress.deadline };
  if (progress.state === "retrying") return { name: "retrying", until: progress.at };
  return { name: "pending" };
}

function elapsedText(span) {
  "use strict";
  const now = Date.now();
  if (span.dataset.since) {
    const ms = Math.max(0, now - Date.parse(span.dataset.since));
    const deadline = span.dataset.deadline ? Date.parse(span.dataset.deadline) : Infinity;
    const ran = ms < 1000 ? ms + " ms" : ms < 60000 ? (ms / 1000).toFixed(1) + " s" : Math.floor(ms / 60000) + " min " + Math.floor(ms % 60000 / 1000) + " s";
    return (now > deadline ? "no answer for " : "for ") + ran;
  }
  const left = Math.ceil((Date.parse(span.dataset.until) - now) / 1000);
  if (left <= 0) return "due now";
  return "in " + (left < 60 ? left + " s" : Math.floor(left / 60) + " min " + (left % 60) + " s");
}

// A time of day as every page says it: UTC, 24-hour ("13:05:03 UTC"),
// like the message's page and its timeline.
function utcClock(date) {
  "use strict";
  return date.toISOString().slice(11, 19) + " UTC";
}

// Fills `td` (a status cell) for `message`, in place.
function setStateCell(td, message) {
  "use strict";
  const state = shownState(message);
  let badge = td.querySelector(".badge");
  if (!badge) {
    badge = document.createElement("span");
    td.appendChild(badge);
  }
  badge.className = "badge status-" + state.name;
  badge.textContent = state.name;
  let note = td.querySelector(".elapsed");
  if (!state.since && !state.until) {
    if (note) note.remove();
    return state.name;
  }
  if (!note) {
    note = document.createElement("span");
    note.className = "elapsed";
    td.append(" ", note);
  }
  note.removeAttribute("data-since");
  note.removeAttribute("data-until");
  note.removeAttribute("data-deadline");
  if (state.since) {
    note.dataset.since = state.since;
    note.dataset.deadline = state.deadline;
  } else note.dataset.until = state.until;
  note.textContent = elapsedText(note);
  return state.name;
}

// How long the oldest pending message has waited, as the server says it
// (strip.rs: `waited`), red past OLDEST_LATE_AFTER (5 min); hidden when
// none is pending.
const OLDEST_LATE_MS = 300000;
function waitedText(ms) {
  "use strict";
  const seconds = Math.max(1, Math.floor(ms / 1000));
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
}
function showOldest(line) {
  "use strict";
  const since = line.dataset.since;
  line.hidden = !since;
  if (!since) return;
  const ms = Date.now() - Date.parse(since);
  line.querySelector("strong").textContent = waitedText(ms);
  line.classList.toggle("late", ms >= OLDEST_LATE_MS);
}

// Once a second, the running and retrying figures on the page, and the
// oldest pending message's wait.
setInterval(() => {
  "use strict";
  if (document.hidden) return;
  for (const span of document.querySelectorAll(".elapsed[data-since], .elapsed[data-until]")) span.textContent = elapsedText(span);
  const oldest = document.getElementById("pipe-oldest-line");
  if (oldest) showOldest(oldest);
}, 1000);

// "Process" and "Process until empty" (the worker waits for them): batches
// through the API, with progress, and no reload. Until empty stops when a
// batch finds nothing, or after 200 batches.
(function () {
  "use strict";
  const form = document.getElementById("process");
  if (!form) return;
  const status = document.getElementById("process-status");
  const buttons = form.querySelectorAll("button");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const untilEmpty = Boolean(event.submitter && event.submitter.value === "empty");
    for (const button of buttons) button.disabled = true;
    let received = 0, done = 0, retried = 0, batches = 0, failure = "";
    status.textContent = "Processing…";
    for (;;) {
      let report;
      try {
        const response = await fetch("/api/process-batch", { method: "POST", headers: { Accept: "application/json" } });
        report = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(report.error || "HTTP " + response.status);
      } catch (error) {
        failure = error.message;
        break;
      }
      batches += 1;
      received += report.received; done += report.done; retried += report.retried;
      status.textContent = "Processing… " + received + " so far: " + done + " finished, " + retried + " will be retried.";
      document.dispatchEvent(new Event("pipeline-changed"));
      if (!untilEmpty || report.received === 0 || batches >= 200) break;
    }
    status.textContent = failure
      ? "Stopped after " + received + ": " + failure
      : (received === 0 ? "The queue was empty: nothing to process." : "Processed " + received + ": " + done + " finished, " + retried + " will be retried.");
    for (const button of buttons) button.disabled = false;
  });
})();

// The last hour's charts: the server draws them; every 30 s the page swaps
// in the new ones, unless live updates are paused.
(function () {
  "use strict";
  const activity = document.getElementById("activity");
  if (!activity) return;
  async function refresh() {
    const interval = document.getElementById("live-interval");
    if (!document.hidden && (!interval || interval.value !== "0")) {
      try {
        const response = await fetch("/activity/charts", { headers: { Accept: "text/html" } });
        if (response.ok) activity.innerHTML = await response.text();
      } catch (error) {
        // The charts keep their last figures; the next refresh tries again.
      }
    }
    setTimeout(refresh, 30000);
  }
  setTimeout(refresh, 30000);
})();

// Pages with the strip but no live list (the failures page) ask for the
// pipeline on their own, and show the redrive's progress.
(function () {
  "use strict";
  if (!document.getElementById("pipeline") || document.getElementById("messages")) return;
  const status = document.getElementById("redrive-status");
  async function refresh() {
    // A hidden tab asks nothing; it catches up when shown.
    if (document.hidden) {
      document.addEventListener("visibilitychange", refresh, { once: true });
      return;
    }
    try {
      const response = await fetch("/api/pipeline", { headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        setPipeline(body);
        const redrive = body.redrive;
        if (status && redrive) {
          status.textContent = (redrive.running ? "Redriving: " + redrive.moved + " moved so far." : "The last redrive moved " + redrive.moved + ".") + (redrive.error ? " It " + redrive.error + "." : "");
        }
      }
    } catch (error) {
      // The strip keeps its last figures; the next refresh tries again.
    }
    setTimeout(refresh, 3000);
  }
  setTimeout(refresh, 3000);
})();

// A message's page leads back to the list as the reader left it (its
// filter and group), when they came from it.
(function () {
  "use strict";
  const back = document.getElementById("back-to-list");
  if (!back || !document.referrer) return;
  let from;
  try { from = new URL(document.referrer); } catch (error) { return; }
  if (from.origin !== location.origin || from.pathname !== "/" || !from.search) return;
  const params = new URLSearchParams(from.search);
  for (const name of [...params.keys()]) if (name !== "status" && name !== "group") params.delete(name);
  if (!params.toString()) return;
  back.href = "/?" + params.toString();
  back.textContent = "\u2190 Back to the list" + (params.get("status") ? " of " + params.get("status") + " messages" : "") + (params.get("group") ? " in group " + params.get("group") : "");
})();

// The detail page of a pending message follows it until it is final.
(function () {
  "use strict";
  const detail = document.getElementById("detail");
  if (!detail || detail.dataset.status !== "pending") return;
  const live = document.getElementById("detail-live");
  const id = detail.dataset.id;
  async function follow() {
    if (document.hidden) {
      document.addEventListener("visibilitychange", follow, { once: true });
      return;
    }
    let message;
    try {
      const response = await fetch("/api/messages/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
      message = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(message.error || "HTTP " + response.status);
    } catch (error) {
      live.textContent = "Live updates paused (" + error.message + "); retrying.";
      setTimeout(follow, 3000);
      return;
    }
    const shown = setStateCell(document.getElementById("detail-status"), message);
    document.getElementById("detail-attempts").textContent = String(message.attempts);
    const time = document.createElement("time");
    time.dateTime = message.updated_at;
    time.textContent = message.updated_at;
    document.getElementById("detail-updated").replaceChildren(time);
    const error = document.getElementById("detail-error");
    error.textContent = message.error == null ? "none" : message.error;
    error.classList.toggle("error-text", message.error != null);
    detail.dataset.status = message.status;
    live.textContent = message.status === "pending" ? "" : "Now " + message.status + ".";
    // The timeline, drawn by the server, swapped in when the message changed
    // (every event but a job's start changes `updated_at`, and a start
    // changes what the status shows; a full timeline keeps its length).
    const timeline = document.getElementById("timeline-wrap");
    const version = message.updated_at + "|" + shown;
    if (timeline && timeline.dataset.updated !== version) {
      try {
        const response = await fetch("/messages/" + encodeURIComponent(id) + "/timeline", { headers: { Accept: "text/html" } });
        if (response.ok) {
          timeline.innerHTML = await response.text();
          timeline.dataset.updated = version;
        }
      } catch (error) {
        // The next look tries again.
      }
    }
    if (message.status === "pending") setTimeout(follow, 1500);
  }
  setTimeout(follow, 1500);
})();

(function () {
  "use strict";
  // How often to look, as the reader chose (kept for the next visit); 0 pauses.
  const interval = document.getElementById("live-interval");
  let stored = null;
  try { stored = localStorage.getItem("live-interval"); } catch (error) { /* storage off: the default */ }
  let POLL_MS = Number(stored || 1500);
  if (interval) {
    if (![...interval.options].some((option) => Number(option.value) === POLL_MS)) POLL_MS = 1500;
    interval.value = String(POLL_MS);
    document.getElementById("live-controls").hidden = false;
    interval.addEventListener("change", () => {
      POLL_MS = Number(interval.value);
      try { localStorage.setItem("live-interval", String(POLL_MS)); } catch (error) { /* kept for this visit only */ }
      if (POLL_MS > 0) pollNow();
      else {
        clearTimeout(timer);
        document.getElementById("live-status").textContent = "Live updates paused: choose an interval to resume.";
      }
    });
  }
  // The server's limit on a message (messages::MAX_BODY_BYTES).
  const MAX_BODY_BYTES = 32768;
  const table = document.getElementById("messages");
  if (!table) return;
  const tbody = table.tBodies[0];
  const filter = table.dataset.filter || "";
  // Whether a message belongs in this view: every message, one status's, or
  // in flight (pending, and a worker has it: running or waiting to retry).
  const shows = (message) => {
    if (!filter) return true;
    if (filter !== "in_flight") return message.status === filter;
    const state = (message.progress || {}).state;
    return message.status === "pending" && (state === "running" || state === "retrying");
  };
  // In a group's view, only that group's messages are shown.
  const group = table.dataset.group || "";
  const live = document.getElementById("live-status");
  let newest = table.dataset.newest || "";
  // In a filtered view, new pending messages it does not show are watched:
  // when one reaches the view (its status, or in flight), it appears.
  const unseen = new Map();
  // Bounds that keep an open page's work flat however long it stays open.
  const MAX_ROWS = 500;
  // What "Load more" appended stays: the cap rises to what the person asked
  // to see, so only live inserts push rows out, never the next poll.
  let rowCap = MAX_ROWS;
  const MAX_UNSEEN = 2000;
  const WATCH_PER_POLL = 100;
  // Rows that are final are asked about too, a few a poll, round and round,
  // so one deleted or retried elsewhere does not stay on screen as it was.
  const STALE_PER_POLL = 10;
  // A server that does not answer is asked less and less often, up to this.
  const MAX_BACKOFF_MS = 60000;
  let failures = 0;
  let lastGood = new Date();
  let watchFrom = 0;
  let staleFrom = 0;
  // New rows wait here, newest first, while rows are in view: inserted at
  // the top they would push what the reader is looking at down the page.
  // "Show" puts them in; the reader's own sends go in at once.
  const held = [];
  let heldCount = 0;
  const own = new Set();
  const showNew = document.getElementById("show-new");
  let polls = 0;
  let timer = null;
  // One poll loop at a time: `polling` while a request is out; a wish to
  // poll now that comes meanwhile is kept and served when it returns.
  let polling = false;
  let pollSoon = false;
  function pollNow() {
    if (polling) {
      pollSoon = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(poll, 0);
  }

  // A pending message not on screen, as the updates API is told of it.
  function seenAs(message) {
    return message.attempts + ":" + watchedState(shownState(message).name);
  }

  // What a pending row shows, as the updates API names it.
  function watchedState(shown) {
    return shown === "running" || shown === "retrying" ? shown : "waiting";
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  // Builds a row from JSON with textContent only: whatever a person typed is
  // shown as text, never parsed as HTML.
  function row(message) {
    const tr = document.createElement("tr");
    tr.dataset.id = message.id;
    tr.dataset.status = message.status;
    tr.dataset.attempts = message.attempts;
    const status = document.createElement("td");
    status.className = "state";
    tr.dataset.shown = setStateCell(status, message);
    tr.appendChild(status);
    const body = document.createElement("td");
    body.className = "body";
    const link = document.createElement("a");
    link.href = "/messages/" + encodeURIComponent(message.id);
    link.textContent = message.body;
    body.appendChild(link);
    tr.appendChild(body);
    tr.appendChild(cell(message.simulate));
    const groupCell = cell("", "group");
    if (message.group) {
      const groupLink = document.createElement("a");
      groupLink.href = "/?group=" + encodeURIComponent(message.group);
      groupLink.textContent = message.group;
      groupCell.appendChild(groupLink);
    }
    tr.appendChild(groupCell);
    tr.appendChild(cell(message.attempts, "attempts"));
    const age = document.createElement("td");
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = message.created_at;
    age.appendChild(time);
    tr.appendChild(age);
    tr.appendChild(cell(message.error, "error-text"));
    return tr;
  }

  // Changes a row in place, cell by cell, so that a link in it keeps the
  // focus and nothing around it is laid out again.
  function patch(tr, message) {
    tr.dataset.status = message.status;
    tr.dataset.attempts = message.attempts;
    tr.dataset.shown = setStateCell(tr.cells[0], message);
    tr.cells[4].textContent = String(message.attempts);
    tr.cells[6].textContent = message.error == null ? "" : String(message.error);
    tr.classList.remove("fresh");
    void tr.offsetWidth; // restarts the highlight
    tr.classList.add("fresh");
  }

  function ageText(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function refreshAges() {
    for (const time of table.querySelectorAll("time[datetime]")) {
      time.textContent = ageText(time.dateTime);
      time.title = time.dateTime;
    }
  }

  function rowFor(id) {
    for (const tr of tbody.rows) if (tr.dataset.id === id) return tr;
    return held.find((tr) => tr.dataset.id === id) || null;
  }

  // Whether any row of the list is on screen.
  function rowsInView() {
    const rows = tbody.rows;
    if (!rows.length) return false;
    const top = rows[0].getBoundingClientRect().top;
    const bottom = rows[rows.length - 1].getBoundingClientRect().bottom;
    return bottom > 0 && top < window.innerHeight;
  }

  // A new row for the top of the list: in at once when nothing on screen
  // would move (`hold` false, decided once per update, so that the rows of
  // one update into an empty list go in together) or the reader sent it;
  // otherwise held behind "Show".
  function arrive(tr, hold) {
    tr.classList.add("fresh");
    const mine = own.delete(tr.dataset.id);
    if (mine) showHeld();
    if (!mine && (held.length || hold)) {
      held.unshift(tr);
      heldCount += 1;
      // Bounded like the table: the oldest held are left to "Load more".
      if (held.length > MAX_ROWS) held.pop();
      sayHeld();
      return;
    }
    tbody.insertBefore(tr, tbody.firstChild);
  }

  // The in-flight view reads its first page again every few polls: a job
  // already waiting when the page opened is not watched (only new ones
  // are), so this is how it appears once a worker takes it. Each row it
  // lacks goes in its place (ids sort by time); one newer than every row
  // arrives as a new one does, held while the list is read.
  async function refreshInFlight(hold) {
    const params = new URLSearchParams({ status: filter, limit: "25" });
    if (group) params.set("group", group);
    const response = await fetch("/api/messages?" + params.toString(), { headers: { Accept: "application/json" } });
    if (!response.ok) return 0;
    const page = await response.json();
    let added = 0;
    for (const message of page.items) {
      if (rowFor(message.id)) continue;
      const before = Array.from(tbody.rows).find((other) => other.dataset.id < message.id);
      if (before === tbody.rows[0]) arrive(row(message), hold);
      else tbody.insertBefore(row(message), before || null);
      added += 1;
    }
    return added;
  }

  // Takes a row off the list, or out of the held ones.
  function drop(tr) {
    const index = held.indexOf(tr);
    if (index >= 0) {
      held.splice(index, 1);
      sayHeld();
    } else tr.remove();
  }

  function sayHeld() {
    if (!showNew) return;
    if (!held.length) heldCount = 0;
    showNew.textContent = heldCount === 1 ? "Show 1 new message" : "Show " + heldCount + " new messages";
    showNew.classList.toggle("waiting", held.length > 0);
  }

  // The held rows, oldest first, each at the top: the newest ends first.
  function showHeld() {
    while (held.length) tbody.insertBefore(held.pop(), tbody.firstChild);
    sayHeld();
    trimRows();
    document.getElementById("empty").hidden = tbody.rows.length > 0;
  }
  if (showNew) showNew.addEventListener("click", showHeld);

  // Each tab's count, and "All" their sum.
  function setCounts(counts) {
    let all = 0;
    for (const status of Object.keys(counts)) {
      all += counts[status];
      const element = document.getElementById("count-" + status);
      if (element) element.textContent = String(counts[status]);
    }
    const every = document.getElementById("count-all");
    if (every) every.textContent = String(all);
  }

  // A batch processed by hand: look now, with the counts.
  document.addEventListener("pipeline-changed", () => { polls = 0; pollNow(); });

  async function poll() {
    polling = true;
    polls += 1;
    const params = new URLSearchParams();
    if (newest) params.set("after", newest);
    // At most 100 watched per poll (the server's limit): when there are
    // more, each poll takes the next 100, round and round.
    const candidates = Array.from(tbody.rows)
      .concat(held)
      .filter((tr) => tr.dataset.status === "pending")
      .map((tr) => tr.dataset.id + ":" + tr.dataset.attempts + ":" + watchedState(tr.dataset.shown))
      .concat(Array.from(unseen, ([id, seen]) => id + ":" + seen));
    let watched = candidates;
    if (candidates.length > WATCH_PER_POLL) {
      const from = watchFrom % candidates.length;
      watched = candidates.slice(from, from + WATCH_PER_POLL);
      if (watched.length < WATCH_PER_POLL) watched = watched.concat(candidates.slice(0, WATCH_PER_POLL - watched.length));
      watchFrom = from + WATCH_PER_POLL;
    }
    const room = Math.min(STALE_PER_POLL, WATCH_PER_POLL - watched.length);
    const finals = Array.from(tbody.rows).filter((tr) => tr.dataset.status !== "pending");
    if (room > 0 && finals.length) {
      const from = staleFrom % finals.length;
      const slice = finals.slice(from, from + room);
      staleFrom = from + room;
      watched = watched.concat(slice.map((tr) => tr.dataset.id + ":" + tr.dataset.attempts + ":" + tr.dataset.status));
    }
    if (watched.length) params.set("watch", watched.join(","));
    // The counts with every update: they come from the figures the server
    // shares among its pages (read at most every few seconds), at no cost
    // per page.
    params.set("counts", "1");
    let more = false;
    try {
      const response = await fetch("/api/messages/updates?" + params.toString(), { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const update = await response.json();
      let changed = 0;
      const hold = rowsInView();
      for (const message of update.new) {
        newest = message.id;
        if (group && message.group !== group) continue;
        if (!shows(message)) {
          if (message.status === "pending" && unseen.size < MAX_UNSEEN) unseen.set(message.id, seenAs(message));
          continue;
        }
        if (rowFor(message.id)) continue;
        arrive(row(message), hold);
        changed += 1;
      }
      for (const message of update.changed) {
        const old = rowFor(message.id);
        if (!old) {
          if (!unseen.has(message.id)) continue;
          if (!shows(message) && message.status === "pending") {
            unseen.set(message.id, seenAs(message));
            continue;
          }
          unseen.delete(message.id);
          if (!shows(message)) continue;
          arrive(row(message), hold);
          changed += 1;
          continue;
        }
        changed += 1;
        // In a filtered view, a message that left the view leaves the list.
        if (!shows(message)) {
          drop(old);
          continue;
        }
        patch(old, message);
      }
      // Deleted by an operator: gone from the list too.
      for (const id of update.gone || []) {
        unseen.delete(id);
        const old = rowFor(id);
        if (old) {
          drop(old);
          changed += 1;
        }
      }
      // Looked at again: the rows this update dropped may have left the
      // list empty, and then nothing on screen would move.
      if (filter === "in_flight" && polls % 4 === 1) changed += await refreshInFlight(hold && rowsInView());
      trimRows();
      if (update.counts) setCounts(update.counts);
      if (update.pipeline) setPipeline(update.pipeline);
      else if (changed) polls = 0; // ask for fresh counts on the next poll
      document.getElementById("empty").hidden = tbody.rows.length > 0;
      if (changed) live.textContent = (changed === 1 ? "1 update" : changed + " updates") + " at " + utcClock(new Date());
      more = update.more;
      if (failures) live.textContent = "Live again at " + utcClock(new Date()) + ".";
      failures = 0;
      lastGood = new Date();
      stale(false);
      refreshAges();
    } catch (error) {
      failures += 1;
      stale(true);
      const wait = Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS);
      live.textContent = "No answer from the server (" + error.message + "); the figures are as of " + utcClock(lastGood) + ". Trying again in " + Math.round(wait / 1000) + " s.";
    }
    polling = false;
    const now = more || pollSoon;
    pollSoon = false;
    schedule(now ? 0 : failures ? Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS) : POLL_MS);
  }

  // The next look, unless the reader paused, or the tab is hidden: a hidden
  // tab asks nothing, and looks at once when it is shown again.
  function schedule(delay) {
    clearTimeout(timer);
    if (POLL_MS <= 0 || document.hidden) return;
    timer = setTimeout(poll, delay);
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && POLL_MS > 0) pollNow();
  });

  // The strip and the counts greyed while the server does not answer, with
  // the time of their figures.
  function stale(yes) {
    for (const id of ["pipeline", "counts"]) {
      const element = document.getElementById(id);
      if (!element) continue;
      element.classList.toggle("stale", yes);
      if (yes) element.title = "As of " + utcClock(lastGood) + ": the server is not answering";
      else element.removeAttribute("title");
    }
  }

  // "Load more" appends the next page in place instead of navigating, and
  // says so beside the button when it cannot.
  let loadMore = document.getElementById("load-more");
  function loadMoreError(text) {
    let note = document.getElementById("load-more-error");
    if (!text) {
      if (note) note.remove();
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.id = "load-more-error";
      note.className = "error";
      note.setAttribute("role", "alert");
      loadMore.parentNode.insertAdjacentElement("afterend", note);
    }
    note.textContent = text;
  }
  async function loadNext(event) {
    event.preventDefault();
    const params = new URLSearchParams({ cursor: loadMore.dataset.cursor, limit: "25" });
    if (filter) params.set("status", filter);
    if (group) params.set("group", group);
    let page;
    try {
      const response = await fetch("/api/messages?" + params.toString(), { headers: { Accept: "application/json" } });
      page = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(page.error || "HTTP " + response.status);
    } catch (error) {
      loadMoreError("More messages could not be loaded (" + error.message + "). Press Load more to try again.");
      return;
    }
    loadMoreError("");
    for (const message of page.items) if (!rowFor(message.id)) tbody.appendChild(row(message));
    rowCap = Math.max(rowCap, tbody.rows.length);
    if (page.next_cursor) loadMore.dataset.cursor = page.next_cursor;
    else {
      loadMore.parentNode.remove();
      loadMore = null;
    }
    refreshAges();
  }
  if (loadMore) loadMore.addEventListener("click", loadNext);

  // The table keeps at most rowCap rows: live inserts push the oldest out,
  // and "Load more" then starts after the last row kept.
  function trimRows() {
    if (tbody.rows.length <= rowCap) return;
    while (tbody.rows.length > rowCap) tbody.deleteRow(-1);
    const last = tbody.rows[tbody.rows.length - 1].dataset.id;
    if (!loadMore) {
      const p = document.createElement("p");
      loadMore = document.createElement("a");
      loadMore.id = "load-more";
      loadMore.className = "button";
      loadMore.textContent = "Load more";
      loadMore.addEventListener("click", loadNext);
      p.appendChild(loadMore);
      document.getElementById("empty").insertAdjacentElement("afterend", p);
    }
    loadMore.dataset.cursor = last;
    const params = new URLSearchParams({ cursor: last });
    if (filter) params.set("status", filter);
    if (group) params.set("group", group);
    loadMore.href = "/?" + params.toString();
  }

  // The form, without a page load: the JSON batch API, errors beside the
  // form, what was typed kept on error. New rows arrive through the poll.
  const form = document.getElementById("send-form");
  function say(kind, text) {
    for (const id of ["send-error", "send-notice"]) {
      const old = document.getElementById(id);
      if (old) old.remove();
    }
    const p = document.createElement("p");
    p.id = kind === "error" ? "send-error" : "send-notice";
    p.className = kind;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = text;
    form.insertBefore(p, form.firstChild);
    const body = document.getElementById("body");
    if (kind === "error") body.setAttribute("aria-invalid", "true");
    else body.removeAttribute("aria-invalid");
  }
  // Refused for the rate: "Wait 18 s" counting down each second, then "You
  // can send again now." The region is polite and is spoken twice only: the
  // ticking figure is hidden from screen readers, which hear the first
  // sentence whole, then the last.
  const waitNote = document.getElementById("send-wait");
  let waitTimer = null;
  function countDown(seconds) {
    clearInterval(waitTimer);
    let left = seconds;
    const sentence = (n) => "Too many messages from your address: nothing was sent. Wait " + n + " s, then send again.";
    const spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.textContent = sentence(seconds);
    const figure = document.createElement("span");
    figure.id = "send-wait-seconds";
    figure.textContent = String(left);
    const shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.append("Too many messages from your address: nothing was sent. Wait ", figure, " s, then send again.");
    waitNote.className = "wait error";
    waitNote.replaceChildren(spoken, shown);
    waitTimer = setInterval(() => {
      left -= 1;
      figure.textContent = String(Math.max(left, 0));
      if (left > 0) return;
      clearInterval(waitTimer);
      waitNote.className = "wait notice";
      waitNote.textContent = "You can send again now.";
    }, 1000);
  }
  function stopWaiting() {
    clearInterval(waitTimer);
    if (waitNote) waitNote.replaceChildren();
  }

  // A new idempotency key: 128 random bits as hex. getRandomValues works
  // on a page served over plain HTTP too, where randomUUID does not.
  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const data = new FormData(form);
      // Too long is said here, whole: a textarea's maxlength would cut a
      // paste without a word, and send the rest.
      const bytes = new TextEncoder().encode(String(data.get("body") || "")).length;
      if (bytes > MAX_BODY_BYTES) {
        say("error", "The message is " + Math.ceil(bytes / 1024) + " KiB; the limit is 32 KiB (" + MAX_BODY_BYTES + " bytes of UTF-8). Shorten it, or send it in parts. Nothing was sent.");
        form.elements.body.focus();
        button.disabled = false;
        return;
      }
      const request = {
        body: String(data.get("body") || ""),
        simulate: String(data.get("simulate") || "ok"),
        count: String(data.get("count") || "1"),
        group: String(data.get("group") || ""),
      };
      // The form's key makes a double submit, or a retry after a lost
      // answer, one send; a new message gets a new key (see newKey).
      const key = form.elements.idempotency_key;
      try {
        const response = await fetch("/api/messages/batch", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": key.value },
          body: JSON.stringify(request),
        });
        const answer = await response.json().catch(() => ({}));
        // Keep the key only while the send is still open: in progress, its
        // outcome unknown, or its answer late. Anything else was answered for
        // good. The error's code says which (error.rs); its sentence is for people.
        const open = ["in_progress", "retry_with_same_key", "late"].includes(answer.code);
        if (!open) key.value = newKey();
        const wait = response.status === 429 ? Number(response.headers.get("Retry-After")) : 0;
        if (response.ok) {
          stopWaiting();
          for (const item of answer.items || []) own.add(item.id);
          const sent = answer.items ? answer.items.length : 1;
          say("notice", sent === 1 ? "Message sent: watch it below." : sent + " messages sent: watch them below.");
          form.elements.body.value = "";
          pollNow();
        } else if (wait > 0 && waitNote) {
          // The message is fine: only the time is wrong, said in one place.
          for (const id of ["send-error", "send-notice"]) {
            const old = document.getElementById(id);
            if (old) old.remove();
          }
          document.getElementById("body").removeAttribute("aria-invalid");
          countDown(wait);
        } else {
          say("error", answer.error || "The message was not sent (HTTP " + response.status + ").");
          form.elements.body.focus();
        }
      } catch (error) {
        // The request may have arrived: the key stays, so sending again is safe.
        say("error", "No answer from the server, so it is not known whether the message was sent. Press Send again when the server is back: it is sent once, whatever happened.");
      } finally {
        button.disabled = false;
      }
    });
  }

  refreshAges();
  if (POLL_MS > 0) schedule(POLL_MS);
  else live.textContent = "Live updates paused: choose an interval to resume.";
})();
