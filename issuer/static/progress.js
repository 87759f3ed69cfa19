// The import page while its file is checked: ask for the progress every 2 seconds, show it,
// and load the page again once the check is done (its counts and lines then appear).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var pattern = text.getAttribute("data-pattern");
  var told = 0; // the tenth of the file last told to screen readers (role=status)
  function tick() {
    fetch(box.getAttribute("data-progress-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (!state.checking) { window.location.reload(); return; }
        bar.max = Math.max(state.total, 1);
        bar.value = state.done;
        bar.textContent = state.done;
        var tenth = Math.floor(10 * state.done / Math.max(state.total, 1));
        if (tenth !== told) { // every tenth, not every tick: a live region that talks every 2 s is noise
          told = tenth;
          text.textContent = pattern.replace("{done}", state.done.toLocaleString(document.documentElement.lang))
            .replace("{total}", Math.max(state.total, state.done).toLocaleString(document.documentElement.lang));
        }
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 2000);
}());
