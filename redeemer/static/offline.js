// The scanner page without signal (docs/offline.md). While online: the lists (trust list,
// revocations, this browser's allowance, the server's time) are fetched every 5 minutes and
// kept in IndexedDB. Offline: a scanned card is verified here (yc1.js) and booked within
// the allowance and the balance last seen; the booking is written to IndexedDB before its
// receipt shows, and sent once the page is online again, in order, each with its own
// Idempotency-Key (sent twice, it books once). Words come from the page (data-* attributes).
(function () {
  "use strict";
  var root = document.getElementById("offline");
  if (!root || !window.indexedDB || !window.YC1) return;
  var words = JSON.parse(root.dataset.words);
  var partner = root.dataset.partner;
  var DAY = 24 * 3600 * 1000, CLOCK_LIMIT = 5 * 60 * 1000, REFRESH = 5 * 60 * 1000;
  var state = { lists: null, keys: null, csrf: null, offlineSince: null, syncing: false };
  var opened = null;

  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open("youcard-offline", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("kv");
          request.result.createObjectStore("queue", { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opened;
  }

  function store(name, mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function kvGet(key) { return store("kv", "readonly", function (s) { return s.get(key); }); }
  function kvPut(key, value) { return store("kv", "readwrite", function (s) { s.put(value, key); }); }
  function queued() {
    return store("queue", "readonly", function (s) { return s.getAll(); }).then(function (all) {
      return all.filter(function (r) { return r.partner === partner; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }
  function keep(record) { return store("queue", "readwrite", function (s) { s.put(record); }); }

  function randomHex(bytes) {
    var values = crypto.getRandomValues(new Uint8Array(bytes));
    return Array.from(values, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function deviceKey() {
    var key = null;
    try { key = localStorage.getItem("yc-device"); } catch (e) { /* private mode */ }
    if (!/^[0-9a-f]{32}$/.test(key || "")) {
      key = randomHex(16);
      try { localStorage.setItem("yc-device", key); } catch (e) { /* private mode */ }
    }
    return key;
  }

  function say(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  }
  function money(cents) {
    return new Intl.NumberFormat(document.documentElement.lang, { style: "currency", currency: "EUR" }).format(cents / 100);
  }
  function berlinDay(ms) { return new Date(ms).toLocaleDateString("en-CA", { timeZone: "Europe/Berlin" }); }
  function online() { return navigator.onLine; }

  // -- the lists ------------------------------------------------------------------------
  function refresh() {
    var lists = state.lists;
    var since = lists && lists.partner === partner ? lists.lastSeq : 0;
    var revoked = since ? lists.revoked.slice() : [];
    function page(from) {
      var started = Date.now();
      return fetch("/offline/lists?device=" + deviceKey() + "&since=" + from, {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        var ended = Date.now();
        if (!response.ok || response.redirected) throw new Error("lists");
        return response.json().then(function (data) {
          revoked.push.apply(revoked, data.revocations.serials);
          if (data.revocations.more) return page(data.revocations.last_seq);
          state.csrf = data.csrf_token;
          return {
            partner: partner,
            fetchedAt: ended,
            offset: Date.parse(data.server_time) - (started + ended) / 2,
            allowance: data.allowance,
            trust: data.trust_list,
            revoked: revoked,
            lastSeq: data.revocations.last_seq
          };
        });
      });
    }
    return page(since).then(function (fresh) {
      return YC1.trust(fresh.trust).then(function (keys) {
        state.lists = fresh;
        state.keys = keys;
        root.dataset.listsAt = String(fresh.fetchedAt);
        return kvPut("lists", fresh);
      });
    });
  }

  // Why booking offline is not possible now (null: it is).
  function blocked() {
    var lists = state.lists;
    if (!lists || lists.partner !== partner) return words.noLists;
    var now = Date.now();
    if (now - lists.fetchedAt > DAY || Date.parse(lists.allowance.valid_until) < now + lists.offset) return words.listsOld;
    if (Math.abs(lists.offset) > CLOCK_LIMIT) return words.clockOff;
    return null;
  }

  function limitOf(issuer, category) {
    var found = (state.lists.allowance.limits || []).filter(function (l) {
      return l.issuer === issuer && l.category === category;
    });
    return found.length ? found[0].cents_per_card_day : 0;
  }

  // -- checking and booking offline ----------------------------------------------------
  // Whether a booking of this device still counts against the card (not refused, not
  // recorded as not covered).
  function counts(record) { return record.status !== "refused" && record.status !== "not_covered"; }

  // What this device booked offline today on the card, per category (cents).
  function bookedToday(serial) {
    var today = berlinDay(Date.now());
    return queued().then(function (records) {
      var sums = {};
      records.forEach(function (r) {
        if (r.serial !== serial || !counts(r)) return;
        if (berlinDay(Date.parse(r.offline_at)) !== today) return;
        sums[r.category] = (sums[r.category] || 0) + r.amount_cents;
      });
      return sums;
    });
  }

  function check(text) {
    if (!state.keys) return Promise.resolve({ valid: false, reason: null });
    return YC1.verify(text, state.keys, Math.floor(Date.now() / 1000), new Set(state.lists.revoked));
  }

  function book(credential, claims, category, cents) {
    var reason = blocked();
    if (reason) return Promise.reject(new Error(reason));
    var limit = limitOf(claims.issuer, category);
    if (!limit) return Promise.reject(new Error(words.off));
    return Promise.all([queued(), kvGet("seen:" + claims.serial), bookedToday(claims.serial)]).then(function (found) {
      var todays = found[2][category] || 0;
      if (todays + cents > limit) throw new Error(say(words.aboveLimit, { left: money(Math.max(0, limit - todays)) }));
      var seen = found[1];
      if (seen && category in seen.available) {
        var since = found[0].filter(function (r) {
          return r.serial === claims.serial && r.category === category && counts(r) && r.created > seen.at;
        }).reduce(function (sum, r) { return sum + r.amount_cents; }, 0);
        var left = seen.available[category] - since;
        if (cents > left) throw new Error(say(words.aboveBalance, { left: money(Math.max(0, left)) }));
      }
      var record = {
        key: "offline-" + randomHex(16),
        partner: partner,
        credential: credential,
        serial: claims.serial,
        issuer: claims.issuer,
        category: category,
        amount_cents: cents,
        offline_at: new Date().toISOString(),
        allowance_id: state.lists.allowance.id,
        created: Date.now(),
        status: "waiting"
      };
      return keep(record).then(function () { render(); return record; });
    });
  }

  // -- sending ----------------------------------------------------------------------------
  function sync() {
    if (state.syncing || !online()) return Promise.resolve();
    state.syncing = true;
    return refresh().then(function () {
      return queued();
    }).then(function (records) {
      var waiting = records.filter(function (r) { return r.status === "waiting"; });
      return waiting.reduce(function (chain, record) {
        return chain.then(function (go) { return go === false ? false : send(record); });
      }, Promise.resolve(true));
    }).catch(function () { /* offline again, or signed out: the bookings wait */ })
      .then(function () { state.syncing = false; render(); });
  }

  function send(record) {
    return fetch("/offline/bookings", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": state.csrf,
        "Idempotency-Key": record.key
      },
      body: JSON.stringify({
        credential: record.credential,
        category: record.category,
        amount_cents: record.amount_cents,
        offline_at: record.offline_at,
        allowance_id: record.allowance_id
      })
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.redirected || !json || response.status === 400 || response.status === 401 || response.status >= 500) {
        return false; // signed out, an old form or the server's trouble: try again later
      }
      return response.json().then(function (data) {
        if (response.status === 201) {
          record.status = "sent";
          record.receipt = data.receipt;
        } else {
          record.status = data.code === "not_covered" ? "not_covered" : "refused";
          record.message = data.error;
        }
        record.answered = Date.now();
        return keep(record).then(function () { render(); return true; });
      });
    });
  }

  // -- what the page shows ------------------------------------------------------------------
  function render() {
    var status = root.querySelector("[data-part=status]");
    var lists = state.lists;
    var parts = [];
    parts.push(online() ? words.online : say(words.offlineSince, { time: clock(state.offlineSince || Date.now()) }));
    parts.push(lists && lists.partner === partner
      ? say(words.listsFrom, { time: clock(lists.fetchedAt), minutes: Math.max(0, Math.round((Date.now() - lists.fetchedAt) / 60000)) })
      : words.noLists);
    if (!online()) {
      var reason = blocked();
      if (reason) parts.push(reason);
    }
    status.textContent = parts.join(" · ");
    queued().then(function (records) {
      var waiting = records.filter(function (r) { return r.status === "waiting"; }).length;
      var badge = root.querySelector("[data-part=badge]");
      badge.hidden = waiting === 0;
      badge.textContent = say(waiting === 1 ? words.waitingOne : words.waitingMany, { n: waiting });
      var list = document.getElementById("offline-bookings");
      if (list) showList(list, records);
    });
  }

  function showList(section, records) {
    var body = section.querySelector("tbody");
    section.hidden = records.length === 0;
    body.textContent = "";
    records.slice().reverse().slice(0, 50).forEach(function (r) {
      var row = document.createElement("tr");
      [new Date(r.created).toLocaleString(document.documentElement.lang),
       words.categories[r.category] || r.category,
       money(r.amount_cents),
       r.status === "waiting" ? words.stateWaiting : r.status === "sent" ? words.stateSent : r.message || ""
      ].forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      row.dataset.status = r.status;
      body.appendChild(row);
    });
  }

  // The scan page offline: the card checked here, and the offline booking form.
  function scanPage() {
    var form = document.getElementById("scan-form");
    var result = document.getElementById("offline-result");
    if (!form || !result) return;
    form.addEventListener("submit", function (event) {
      if (online()) return;
      event.preventDefault();
      result.hidden = true; // the last card's verdict goes while this one is checked
      var text = document.getElementById("credential").value.trim();
      check(text).then(function (verdict) { showResult(result, text, verdict); });
    });
  }

  function showResult(section, text, verdict) {
    var heading = section.querySelector("h2");
    var note = section.querySelector("[data-part=note]");
    var bookForm = section.querySelector("form");
    var error = section.querySelector("[data-part=error]");
    var receipt = section.querySelector("[data-part=receipt]");
    section.hidden = false;
    delete section.dataset.checked;
    receipt.hidden = true;
    error.textContent = "";
    section.classList.toggle("ok", !!verdict.valid);
    section.classList.toggle("bad", !verdict.valid);
    if (!verdict.valid) {
      heading.textContent = verdict.reason ? (words.reasons[verdict.reason] || words.reasons.malformed) : words.noLists;
      note.textContent = words.doNotBook;
      bookForm.hidden = true;
      section.dataset.checked = "true";
      heading.focus();
      return;
    }
    heading.textContent = words.validOffline;
    var select = bookForm.querySelector("select");
    select.textContent = "";
    bookForm.hidden = true;
    note.textContent = "";
    bookedToday(verdict.claims.serial).then(function (today) {
      verdict.claims.categories.forEach(function (number) {
        var category = words.numbers[String(number)];
        var limit = category ? limitOf(verdict.claims.issuer, category) : 0;
        if (!limit) return;
        var option = document.createElement("option");
        option.value = category;
        option.textContent = words.categories[category] + " (" +
          say(words.leftToday, { amount: money(Math.max(0, limit - (today[category] || 0))) }) + ")";
        select.appendChild(option);
      });
      var reason = blocked() || (select.options.length ? null : words.off);
      note.textContent = reason || words.offlineNote;
      bookForm.hidden = !!reason;
      section.dataset.checked = "true";
    });
    bookForm.onsubmit = function (event) {
      event.preventDefault();
      var cents = euros(bookForm.querySelector("input[name=amount]").value);
      if (cents === null) { error.textContent = words.invalidAmount; return; }
      book(text, verdict.claims, select.value, cents).then(function (record) {
        bookForm.hidden = true;
        receipt.hidden = false;
        receipt.querySelector("[data-part=amount]").textContent = money(record.amount_cents) + " · " + words.categories[record.category];
        receipt.focus();
      }).catch(function (problem) { error.textContent = problem.message; });
    };
    heading.focus();
  }

  function euros(text) {
    var match = /^(\d{1,6})(?:[.,](\d{1,2}))?$/.exec(text.replace("€", "").trim());
    if (!match) return null;
    var cents = parseInt(match[1], 10) * 100 + parseInt(((match[2] || "0") + "0").slice(0, 2), 10);
    return cents > 0 ? cents : null;
  }

  // A card checked online: what was left on it, for booking it offline later.
  function rememberSeen() {
    var seen = document.getElementById("seen-card");
    if (!seen) return Promise.resolve();
    return kvPut("seen:" + seen.dataset.serial, { at: Date.now(), available: JSON.parse(seen.dataset.available) });
  }

  window.addEventListener("online", function () { render(); sync(); });
  window.addEventListener("offline", function () { state.offlineSince = Date.now(); render(); });
  if (!online()) state.offlineSince = Date.now();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data === "page-kept") root.dataset.pageKept = "true";
    });
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // keep the scan page for a reload offline: from any page (the camera may have left
      // the scan page at once), at most once an hour unless this is the scan page itself
      var last = 0;
      try { last = Number(localStorage.getItem("yc-page-kept")) || 0; } catch (e) { /* private mode */ }
      var due = document.getElementById("scan-form") || Date.now() - last > 3600 * 1000;
      if (due && online()) {
        registration.active.postMessage("keep-page");
        try { localStorage.setItem("yc-page-kept", String(Date.now())); } catch (e) { /* private mode */ }
      } else {
        root.dataset.pageKept = "true";
      }
    }).catch(function () { /* no reload offline: the rest works */ });
  }
  scanPage();
  rememberSeen().then(function () { return kvGet("lists"); }).then(function (lists) {
    if (lists && lists.partner === partner) {
      state.lists = lists;
      return YC1.trust(lists.trust).then(function (keys) { state.keys = keys; });
    }
  }).then(function () {
    render();
    root.dataset.ready = "true";
    sync();
  });
  setInterval(function () { if (online()) sync(); }, REFRESH);
  window.YouCardOffline = { sync: sync, refresh: refresh };
})();
