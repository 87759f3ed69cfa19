// The family's cards without network: the card page is fetched from the network when it
// can be and kept; without network the last kept page is shown (it says when it is from).
// Only the family area is cached; signing out deletes the cache.
"use strict";
const CACHE = "youcard-family-v1";
const HOME = "/family";
const STATIC = ["/static/style.css", "/static/family.css", "/static/family/family.js",
                "/static/family/icon-192.png"];

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

self.addEventListener("message", (event) => {
  if (event.data === "forget") event.waitUntil(caches.delete(CACHE));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === HOME && request.mode === "navigate") {
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(HOME, copy));
        }
        return response;
      }).catch(() => caches.match(HOME).then((kept) => kept || Response.error()))
    );
    return;
  }
  if (STATIC.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  }
});
