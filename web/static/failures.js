// The failures page's own script, loaded by that page only. Without it the
// page still works: each box is ticked by hand, "Retry chosen" with nothing
// ticked answers the page again with what to do, and the progress of
// "Retry all failed" is shown on each load.
//
// With it: a box that chooses every message on the page, shift-click to
// tick a range, "N selected" in the bar above the list, the bar's buttons
// off until something is chosen, and the background run's progress, live.

// Choosing messages.
(function () {
  "use strict";
  const form = document.getElementById("bulk");
  const all = document.getElementById("choose-all");
  const count = document.getElementById("selected-count");
  if (!form || !all || !count) return;
  const boxes = Array.from(form.querySelectorAll("tbody input[type=checkbox][name=id]"));
  const buttons = Array.from(document.querySelectorAll("#bulk-bar button"));
  // Without the script, a box that chooses all would do nothing: it is shown only now.
  all.closest("label").hidden = false;

  function refresh() {
    const chosen = boxes.filter((box) => box.checked).length;
    count.textContent = chosen + " selected";
    all.checked = chosen > 0 && chosen === boxes.length;
    all.indeterminate = chosen > 0 && chosen < boxes.length;
    for (const button of buttons) button.disabled = chosen === 0;
  }

  all.addEventListener("change", () => {
    for (const box of boxes) box.checked = all.checked;
    refresh();
  });

  // Shift-click ticks (or unticks) every box between the last one clicked
  // and this one, as the clicked box now is.
  let last = null;
  for (const box of boxes) {
    box.addEventListener("click", (event) => {
      if (event.shiftKey && last !== null && last !== box) {
        const from = boxes.indexOf(last);
        const to = boxes.indexOf(box);
        const [low, high] = from < to ? [from, to] : [to, from];
        for (let index = low; index <= high; index += 1) boxes[index].checked = box.checked;
      }
      last = box;
      refresh();
    });
  }
  // The browser may restore ticks on "back": count what is there.
  refresh();
  window.addEventListener("pageshow", refresh);
})();

// "Retry all failed" and "Delete all failed": the background run's progress,
// as the server words it, every 1.5 s while it runs.
(function () {
  "use strict";
  const status = document.getElementById("all-failed-status");
  if (!status) return;
  const starters = Array.from(document.querySelectorAll("#all-failed button"));
  let shown = status.textContent;

  function show(run) {
    if (!run) return false;
    for (const button of starters) button.disabled = run.running;
    if (run.sentence !== shown) {
      shown = run.sentence;
      status.textContent = run.sentence;
      if (!run.running) {
        // The list below is as it was before the run: say how to see it now.
        const link = document.createElement("a");
        link.href = window.location.pathname + window.location.search;
        link.id = "all-failed-reload";
        link.textContent = "Reload the list";
        status.append(" ", link, ".");
      }
    }
    return run.running;
  }

  async function follow() {
    let running = true;
    try {
      const response = await fetch("/dead-letters/progress", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      running = show(body.all_failed);
    } catch (error) {
      // The last figures stay; the next look tries again.
    }
    if (running) setTimeout(follow, 1500);
  }
  // Only a run that is going needs following: the server said so in its text.
  if (/^(Retrying|Deleting) /.test(status.textContent.trim())) follow();
})();
