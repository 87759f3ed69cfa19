// YC1 verification in the browser (docs/credential.md), for the counter without signal:
// the same checks in the same order as the server's youcard/credentials/codec.py, with
// the same reason codes — malformed, unknown_issuer, unknown_key, bad_signature, expired,
// revoked. Ed25519 through WebCrypto. The tests run the vectors and a generated set
// (valid, tampered, expired, revoked, other issuer, non-canonical) through both and
// compare every verdict (tests/browser/test_offline_browser.py).
(function () {
  "use strict";
  var PREFIX = "YC1:";
  var MAX_LENGTH = 600;
  var MAX_TIME = 253402300799n;
  var MAX_UINT64 = 18446744073709551615n;
  var ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  var HEADER_BEFORE_KID = [0xa2, 0x01, 0x27, 0x04, 0x48]; // {1: -8, 4: h'<8 bytes>'}
  var CLAIMS_ORDER = [1, 4, 6, -65537];
  var CARD_ORDER = [1, 2, 3];
  var utf8 = new TextDecoder("utf-8", { fatal: true });
  var utf8Bytes = new TextEncoder();

  function Malformed() {}

  function b45decode(text) {
    var values = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) {
      var v = ALPHABET.indexOf(text[i]);
      if (v < 0) throw new Malformed();
      values[i] = v;
    }
    if (values.length % 3 === 1) throw new Malformed();
    var out = [];
    for (var j = 0; j + 2 < values.length; j += 3) {
      var word = values[j] + values[j + 1] * 45 + values[j + 2] * 2025;
      if (word > 0xffff) throw new Malformed();
      out.push(word >> 8, word & 0xff);
    }
    if (values.length % 3 === 2) {
      var last = values[values.length - 2] + values[values.length - 1] * 45;
      if (last > 0xff) throw new Malformed();
      out.push(last);
    }
    return new Uint8Array(out);
  }

  // A strict CBOR reader: definite lengths only, no duplicate keys, at most 8 deep. Values
  // keep their kind: {t: "int", v: BigInt}, "bytes", "text", "array", "map" (its pairs in
  // order), "float", "bool", "null", "undefined", "simple", "tag". The first item is read;
  // what follows it is left to the caller's byte comparisons, as on the server.
  function read(bytes) {
    var at = 0;
    function need(n) { if (at + n > bytes.length) throw new Malformed(); }
    function uint(info) {
      if (info < 24) return BigInt(info);
      var size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
      if (!size) throw new Malformed();
      need(size);
      var value = 0n;
      for (var i = 0; i < size; i++) value = (value << 8n) | BigInt(bytes[at + i]);
      at += size;
      return value;
    }
    function item(depth) {
      if (depth > 8) throw new Malformed();
      need(1);
      var head = bytes[at++];
      var major = head >> 5, info = head & 31;
      if (major === 7) {
        if (info === 20 || info === 21) return { t: "bool", v: info === 21 };
        if (info === 22) return { t: "null" };
        if (info === 23) return { t: "undefined" };
        if (info < 20) return { t: "simple", v: info };
        if (info === 24) { need(1); var s = bytes[at++]; if (s < 32) throw new Malformed(); return { t: "simple", v: s }; }
        var width = { 25: 2, 26: 4, 27: 8 }[info];
        if (!width) throw new Malformed();
        need(width);
        var view = new DataView(bytes.buffer, bytes.byteOffset + at, width);
        var f = width === 2 ? half(view.getUint16(0)) : width === 4 ? view.getFloat32(0) : view.getFloat64(0);
        at += width;
        return { t: "float", v: f, width: width };
      }
      if (info === 31) throw new Malformed(); // indefinite length
      var n = uint(info);
      if (major === 0) return { t: "int", v: n };
      if (major === 1) return { t: "int", v: -1n - n };
      if (major === 2 || major === 3) {
        if (n > BigInt(bytes.length)) throw new Malformed();
        var size = Number(n);
        need(size);
        var part = bytes.subarray(at, at + size);
        at += size;
        if (major === 2) return { t: "bytes", v: part };
        try { return { t: "text", v: utf8.decode(part) }; } catch (e) { throw new Malformed(); }
      }
      if (n > BigInt(bytes.length)) throw new Malformed();
      var count = Number(n);
      if (major === 4) {
        var list = [];
        for (var i = 0; i < count; i++) list.push(item(depth + 1));
        return { t: "array", v: list };
      }
      if (major === 5) {
        var pairs = [], seen = new Set();
        for (var k = 0; k < count; k++) {
          var key = item(depth + 1);
          var name = keyName(key);
          if (seen.has(name)) throw new Malformed(); // duplicate keys
          seen.add(name);
          pairs.push([key, item(depth + 1)]);
        }
        return { t: "map", v: pairs };
      }
      return { t: "tag", tag: n, v: item(depth + 1) }; // major 6
    }
    return item(1);
  }

  function half(bits) {
    var exponent = (bits >> 10) & 31, fraction = bits & 1023, sign = bits & 0x8000 ? -1 : 1;
    if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
  }

  // A key as the server's map compares it: 1, True and 1.0 are one key there.
  function keyName(key) {
    if (key.t === "int") return "n" + key.v.toString();
    if (key.t === "bool") return "n" + (key.v ? "1" : "0");
    if (key.t === "float" && Number.isInteger(key.v)) return "n" + BigInt(key.v).toString();
    if (key.t === "text") return "s" + key.v;
    if (key.t === "float") return "f" + String(key.v);
    return "x" + key.t + ":" + JSON.stringify(plain(key));
  }

  function plain(value) {
    if (value.t === "int") return value.v.toString();
    if (value.t === "bytes") return Array.from(value.v);
    if (value.t === "array") return value.v.map(plain);
    if (value.t === "map") return value.v.map(function (p) { return [plain(p[0]), plain(p[1])]; });
    if (value.t === "tag") return [value.tag.toString(), plain(value.v)];
    return [value.t, value.v];
  }

  function lookup(map, number) {
    var name = "n" + number;
    for (var i = 0; i < map.v.length; i++) if (keyName(map.v[i][0]) === name) return map.v[i][1];
    return undefined;
  }

  function sameKeys(map, order) {
    if (map.v.length !== order.length) return false;
    for (var i = 0; i < order.length; i++) if (keyName(map.v[i][0]) !== "n" + order[i]) return false;
    return true;
  }

  function intKeys(map) {
    return map.v.every(function (p) { return p[0].t === "int"; });
  }

  function hasKeys(map, wanted) {
    if (map.v.length !== wanted.length) return false;
    var names = new Set(map.v.map(function (p) { return keyName(p[0]); }));
    return wanted.every(function (k) { return names.has("n" + k); });
  }

  // The server's plain encoding (cbor2.dumps): shortest heads, floats in 64 bits.
  function encode(value, out) {
    function head(major, n) {
      if (n < 24n) { out.push((major << 5) | Number(n)); return; }
      var size = n < 256n ? 1 : n < 65536n ? 2 : n < 4294967296n ? 4 : 8;
      out.push((major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[size]);
      for (var i = size - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 255n));
    }
    switch (value.t) {
      case "int":
        if (value.v > MAX_UINT64 || value.v < -1n - MAX_UINT64) throw new Malformed(); // a bignum
        if (value.v >= 0n) head(0, value.v); else head(1, -1n - value.v);
        return;
      case "bytes": head(2, BigInt(value.v.length)); out.push.apply(out, value.v); return;
      case "text": var b = utf8Bytes.encode(value.v); head(3, BigInt(b.length)); out.push.apply(out, b); return;
      case "array": head(4, BigInt(value.v.length)); value.v.forEach(function (x) { encode(x, out); }); return;
      case "map":
        head(5, BigInt(value.v.length));
        value.v.forEach(function (p) { encode(p[0], out); encode(p[1], out); });
        return;
      case "tag": head(6, value.tag); encode(value.v, out); return;
      case "bool": out.push(value.v ? 0xf5 : 0xf4); return;
      case "null": out.push(0xf6); return;
      case "undefined": out.push(0xf7); return;
      case "float":
        var buffer = new DataView(new ArrayBuffer(8));
        buffer.setFloat64(0, value.v);
        out.push(0xfb);
        for (var j = 0; j < 8; j++) out.push(buffer.getUint8(j));
        return;
      default: throw new Malformed(); // simple values: not re-encoded alike
    }
  }

  function encodesTo(value, bytes) {
    var out = [];
    try { encode(value, out); } catch (e) { return false; }
    return equal(out, bytes);
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function bstr(data) {
    var n = data.length, out;
    if (n < 24) out = [0x40 | n];
    else if (n < 256) out = [0x58, n];
    else if (n < 65536) out = [0x59, n >> 8, n & 255];
    else out = [0x5a, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
    return out.concat(Array.from(data));
  }

  function isUint(value, limit) {
    return value && value.t === "int" && value.v >= 0n && value.v <= limit;
  }

  function parse(text) {
    if (text.slice(0, PREFIX.length) !== PREFIX) throw new Malformed();
    var raw = b45decode(text.slice(PREFIX.length));
    var message = read(raw);
    if (message.t !== "tag" || message.tag !== 18n) throw new Malformed();
    var parts = message.v;
    if (parts.t !== "array" || parts.v.length !== 4) throw new Malformed();
    var protectedPart = parts.v[0], unprotected = parts.v[1], payload = parts.v[2], signature = parts.v[3];
    if (protectedPart.t !== "bytes" || unprotected.t !== "map" || unprotected.v.length !== 0 ||
        payload.t !== "bytes" || signature.t !== "bytes") throw new Malformed();
    var header = read(protectedPart.v);
    var claims = read(payload.v);
    if (header.t !== "map" || !hasKeys(header, [1, 4])) throw new Malformed();
    var alg = lookup(header, 1), kid = lookup(header, 4);
    if (alg.t !== "int" || alg.v !== -8n) throw new Malformed();
    if (kid.t !== "bytes" || kid.v.length !== 8) throw new Malformed();
    if (claims.t !== "map" || !hasKeys(claims, CLAIMS_ORDER)) throw new Malformed();
    var issuer = lookup(claims, 1), card = lookup(claims, -65537);
    if (issuer.t !== "text" || Array.from(issuer.v).length === 0 || Array.from(issuer.v).length > 40) throw new Malformed();
    if (card.t !== "map" || !hasKeys(card, CARD_ORDER)) throw new Malformed();
    var serial = lookup(card, 1), categories = lookup(card, 2), version = lookup(card, 3);
    if (serial.t !== "bytes" || serial.v.length !== 16) throw new Malformed();
    if (categories.t !== "array") throw new Malformed();
    var numbers = categories.v.map(function (c) {
      if (c.t !== "int" || c.v < 1n || c.v > 4n) throw new Malformed();
      return Number(c.v);
    });
    if (new Set(numbers).size !== numbers.length) throw new Malformed();
    if (signature.v.length !== 64) throw new Malformed();
    if (![header, claims, card].every(intKeys)) throw new Malformed(); // not True, not 1.0
    var envelope = [0xd2, 0x84].concat(bstr(protectedPart.v), [0xa0], bstr(payload.v), bstr(signature.v));
    if (!(equal(protectedPart.v, HEADER_BEFORE_KID.concat(Array.from(kid.v))) &&
          sameKeys(claims, CLAIMS_ORDER) && sameKeys(card, CARD_ORDER) &&
          equal(raw, envelope) && encodesTo(claims, payload.v))) throw new Malformed();
    var iat = lookup(claims, 6), exp = lookup(claims, 4);
    if (!isUint(iat, MAX_TIME) || !isUint(exp, MAX_TIME) || !isUint(version, MAX_UINT64)) throw new Malformed();
    return {
      protectedBytes: protectedPart.v,
      payload: payload.v,
      signature: signature.v,
      kid: hex(kid.v),
      claims: {
        issuer: issuer.v,
        issuedAt: Number(iat.v),
        expiresAt: Number(exp.v),
        serial: hex(serial.v),
        categories: numbers,
        version: version.v.toString()
      }
    };
  }

  function hex(bytes) {
    return Array.from(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); });
  }

  // The trust list's keys, imported once: issuer -> kid (hex) -> CryptoKey.
  function trust(document) {
    var keys = {};
    var pending = (document.keys || []).filter(function (entry) {
      return entry.kty === "OKP" && entry.crv === "Ed25519";
    }).map(function (entry) {
      return crypto.subtle.importKey("raw", fromB64url(entry.x), { name: "Ed25519" }, false, ["verify"])
        .then(function (key) {
          (keys[entry.iss] = keys[entry.iss] || {})[hex(fromB64url(entry.kid))] = key;
        });
    });
    return Promise.all(pending).then(function () { return keys; });
  }

  // The verdict on a scanned text: {valid, reason, claims}. `now`: unix seconds;
  // `revoked`: a Set of revoked serials (hex).
  function verify(text, keys, now, revoked) {
    if (typeof text !== "string" || Array.from(text).length > MAX_LENGTH) {
      return Promise.resolve({ valid: false, reason: "malformed" });
    }
    var parsed;
    try { parsed = parse(text); } catch (e) {
      if (e instanceof Malformed || e instanceof RangeError || e instanceof TypeError) {
        return Promise.resolve({ valid: false, reason: "malformed" });
      }
      throw e;
    }
    var claims = parsed.claims;
    var issuerKeys = Object.prototype.hasOwnProperty.call(keys, claims.issuer) ? keys[claims.issuer] : null;
    if (!issuerKeys) return Promise.resolve({ valid: false, reason: "unknown_issuer", claims: claims });
    var key = Object.prototype.hasOwnProperty.call(issuerKeys, parsed.kid) ? issuerKeys[parsed.kid] : null;
    if (!key) return Promise.resolve({ valid: false, reason: "unknown_key", claims: claims });
    var signed = [0x84, 0x6a].concat(Array.from(utf8Bytes.encode("Signature1")),
      bstr(parsed.protectedBytes), [0x40], bstr(parsed.payload));
    return crypto.subtle.verify({ name: "Ed25519" }, key, parsed.signature, new Uint8Array(signed))
      .then(function (good) {
        if (!good) return { valid: false, reason: "bad_signature" };
        if (!(now < claims.expiresAt)) return { valid: false, reason: "expired", claims: claims };
        if (revoked && revoked.has(claims.serial)) return { valid: false, reason: "revoked", claims: claims };
        return { valid: true, claims: claims };
      });
  }

  window.YC1 = { verify: verify, trust: trust };
})();
