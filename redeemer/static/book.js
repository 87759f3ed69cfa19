// Booking with fetch: one Idempotency-Key per attempt (in the form, from the server), sent
// again on every retry, so a double tap or a lost answer books once.
(function () {
  "use strict";
  var form = document.getElementById("book-form");
  if (!form) return;
  var button = document.getElementById("book-button");
  var error = document.getElementById("book-error");
  var signin = document.getElementById("book-signin");
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
      // An answer that is not JSON is no lost connection: it must not say "press again".
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && data.receipt) { window.location.assign(data.receipt); return; }
        if (data.signin || response.status === 400 || response.status === 401) {
          // The sign-in ended: nothing was booked; what was typed stays in this form.
          idle(data.error || form.dataset.signin);
          signin.hidden = false;
          return;
        }
        idle(data.error || form.dataset.failed);
      });
    }).catch(function () {
      idle(form.dataset.offline);
    });
  });
})();
