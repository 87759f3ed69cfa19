// The scanner without signal (docs/offline.md): the scan page and its scripts are fetched
// from the network when it can be and kept; without network the kept ones are used, so
// that a reload offline still shows the page, its offline check and the waiting bookings
// (those live in IndexedDB, not here).
"use strict";
const CACHE = "youcard-scanner-v1";
const PAGE = "/scan";
const STATIC = ["/static/style.css", "/static/timing.js", "/static/yc1.js", "/static/offline.js",
                "/static/scan.js", "/static/vendor/jsqr/jsQR.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(STATIC)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

function networkFirst(request, key) {
  return fetch(request).then((response) => {
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(key, copy));
    }
    return response;
  }).catch(() => caches.match(key).then((kept) => kept || Response.error()));
}

// The scan page asks to be kept as soon as the worker runs (its first visit came before).
self.addEventListener("message", (event) => {
  if (event.data === "keep-page") {
    event.waitUntil(networkFirst(new Request(PAGE, { credentials: "same-origin" }), PAGE).then(
      (response) => { if (event.source) event.source.postMessage("page-kept"); return response; },
      () => undefined
    ));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE && request.mode === "navigate") {
    event.respondWith(networkFirst(request, PAGE));
  } else if (STATIC.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
