// Booking with fetch: one Idempotency-Key per attempt (in the form, from the server), sent
// again on every retry, so a double tap or a lost answer books once.
(function () {
  "use strict";
  var form = document.getElementById("book-form");
  if (!form) return;
  var button = document.getElementById("book-button");
  var error = document.getElementById("book-error");
  var label = button.textContent;
  var busy = false;

  function idle(message) {
    busy = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
    error.textContent = message || "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = form.dataset.busy;
    error.textContent = "";
    try { sessionStorage.setItem("yc-book-pressed", String(Date.now())); } catch (e) { /* private mode */ }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data.receipt) { window.location.assign(data.receipt); return; }
        idle(data.error || form.dataset.offline);
      });
    }).catch(function () {
      idle(form.dataset.offline);
    });
  });
})();
