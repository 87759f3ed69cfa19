// Measurements the browser tests read (no data leaves the page): milliseconds from the
// first camera frame to the result, and from pressing "Book" to the receipt.
(function () {
  "use strict";
  var marks = { "yc-first-frame": "scanToResultMs", "yc-book-pressed": "bookToReceiptMs" };
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.sessionStorage) return;
    Object.keys(marks).forEach(function (key) {
      var started = Number(sessionStorage.getItem(key));
      var isTarget = key === "yc-first-frame" ? document.getElementById("verdict")
                                              : document.getElementById("booking-number");
      if (started && isTarget) {
        document.documentElement.dataset[marks[key]] = String(Math.round(Date.now() - started));
        sessionStorage.removeItem(key);
      }
    });
  });
})();
