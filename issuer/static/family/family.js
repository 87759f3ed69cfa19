// Installable family area: register the service worker; say when the page is offline;
// forget the kept card page when the family signs out.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/family/sw.js", { scope: "/family" }).catch(function () {});
  }
  var note = document.getElementById("offline-note");
  function show() { if (note) note.hidden = navigator.onLine; }
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  document.addEventListener("DOMContentLoaded", show);
  var signOut = document.getElementById("family-logout");
  if (signOut) {
    signOut.addEventListener("submit", function () {
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("forget");
      }
      if (window.caches) caches.delete("youcard-family-v1");
    });
  }
})();
