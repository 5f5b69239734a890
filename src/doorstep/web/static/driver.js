// The driver's page: deliveries and failures become scans with their own event ids,
// kept in IndexedDB until the service has answered for them, and sent in order
// when there is a connection (retried with backoff; the service ignores a scan it
// has seen, so sending twice is harmless). A service worker keeps the page offline.
(function () {
  "use strict";

  var MARKS = "doorstep.driver.marks"; // localStorage: stops this phone finished, by route
  var STARTED = "doorstep.driver.started"; // localStorage: routes this phone started
  var CACHE = "doorstep-driver-v1"; // the service worker's cache (sw.js)
  if ("serviceWorker" in navigator && window.isSecureContext) {
    var served = navigator.serviceWorker.controller;
    navigator.serviceWorker.register("/driver/sw.js", { scope: "/driver" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      if (!served && navigator.onLine && document.getElementById("driver")) {
        // This copy came before the worker: keep it for offline use as the worker would.
        return caches.open(CACHE).then(function (cache) {
          return cache.add(location.pathname + location.search);
        });
      }
      return null;
    }).catch(function () {
      return null; // the page still works online without it
    });
  }
  var signOut = document.querySelector('form[action="/logout"]');
  if (signOut) {
    signOut.addEventListener("submit", function () {
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("forget");
      }
      localStorage.removeItem(MARKS);
    });
  }

  var root = document.getElementById("driver");
  if (!root) {
    return;
  }
  var routeId = root.dataset.routeId;
  var vehicleId = root.dataset.vehicleId;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var LABELS = { pending: "To do", arrived: "At the door", done: "Delivered", failed: "Not delivered" };
  var MAX_BATCH_CHARS = 600000; // under the service's 1 MiB body cap
  var MAX_BACKOFF_MS = 60000;

  // ---- IndexedDB: the scans waiting to be sent, in the order they were made ----
  var DB_NAME = "doorstep-driver";
  var STORE = "scans";
  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "n", autoIncrement: true });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function queueAdd(items) {
    return withStore("readwrite", function (store) {
      items.forEach(function (item) { store.add(item); });
    });
  }
  function queueAll() {
    return withStore("readonly", function (store) { return store.getAll(); });
  }
  function queueDelete(keys) {
    return withStore("readwrite", function (store) {
      keys.forEach(function (key) { store.delete(key); });
    });
  }

  // ---- What this phone knows that the page (maybe an offline copy) does not ----
  function readMarks() {
    try {
      return JSON.parse(localStorage.getItem(MARKS) || "{}");
    } catch (err) {
      return {};
    }
  }
  function writeMarks(marks) {
    localStorage.setItem(MARKS, JSON.stringify(marks));
  }
  function mark(seq, state) {
    var marks = readMarks();
    marks[routeId] = marks[routeId] || {};
    if (state) {
      marks[routeId][seq] = state;
    } else {
      delete marks[routeId][seq];
    }
    writeMarks(marks);
  }

  // ---- "Start route": this phone scanned the route's parcels out (maybe not sent yet) ----
  function readStarted() {
    try {
      return JSON.parse(localStorage.getItem(STARTED) || "{}");
    } catch (err) {
      return {};
    }
  }
  function setStarted(started) {
    var all = readStarted();
    if (started) {
      all[routeId] = true;
    } else {
      delete all[routeId];
    }
    localStorage.setItem(STARTED, JSON.stringify(all));
    var card = document.getElementById("start-card");
    if (card) {
      card.hidden = started;
    }
  }
  function applyStarted() {
    // No card: the service knows every parcel is out. A card: hide it if this phone started.
    setStarted(Boolean(document.getElementById("start-card")) && Boolean(readStarted()[routeId]));
  }

  // ---- The stops on the page ----
  var stops = Array.prototype.slice.call(document.querySelectorAll("#stops .stop"));
  stops.forEach(function (li) { li.dataset.serverState = li.dataset.state; });

  function stopOf(seq) {
    return document.getElementById("stop-" + seq);
  }
  function label(li, state) {
    if (state === "done" && li.dataset.kind === "pickup") {
      return "Collected";
    }
    return LABELS[state] || state;
  }
  function setState(li, state) {
    li.dataset.state = state;
    li.querySelector("[data-state-text]").textContent = label(li, state);
  }
  function open(state) {
    return state === "pending" || state === "arrived";
  }
  function refreshNext() {
    var next = null;
    stops.forEach(function (li) {
      var isNext = !next && open(li.dataset.state);
      if (isNext) {
        next = li;
      }
      li.classList.toggle("next", isNext);
    });
    var summary = document.getElementById("next-summary");
    summary.textContent = "";
    if (next) {
      var link = document.createElement("a");
      link.href = "#" + next.id;
      link.textContent = "Stop " + next.dataset.seq + ": " + next.dataset.address;
      summary.appendChild(link);
    } else {
      summary.textContent = "All stops are finished.";
    }
  }
  function applyMarks() {
    var marks = readMarks();
    var mine = marks[routeId] || {};
    Object.keys(mine).forEach(function (seq) {
      var li = stopOf(seq);
      if (!li || !open(li.dataset.serverState)) {
        delete mine[seq]; // the service knows it now
      } else {
        setState(li, mine[seq]);
      }
    });
    marks[routeId] = mine;
    writeMarks(marks);
    refreshNext();
  }

  // ---- Waiting scans, connection, refusals ----
  function updateCount() {
    return queueAll().then(function (items) {
      var waiting = document.getElementById("waiting");
      var n = items.length;
      waiting.dataset.count = String(n);
      if (n === 0) {
        waiting.textContent = "All scans sent.";
      } else {
        waiting.textContent = n + (n === 1 ? " scan waiting" : " scans waiting") + " to be sent" +
          (navigator.onLine ? "." : ": they will go when the connection returns.");
      }
      var queued = {};
      items.forEach(function (item) {
        if (item.route === routeId && !item.start) {
          queued[item.seq] = true;
        }
      });
      stops.forEach(function (li) { li.dataset.queued = queued[li.dataset.seq] ? "1" : "0"; });
    });
  }
  function showConnection() {
    var element = document.getElementById("connection");
    element.dataset.online = navigator.onLine ? "1" : "0";
    element.textContent = navigator.onLine
      ? "Online."
      : "Offline: scans are kept on this phone and sent when the connection returns.";
  }
  function refuse(text) {
    var item = document.createElement("li");
    item.textContent = text;
    document.getElementById("refused").appendChild(item);
  }

  // ---- Sending, in order, with backoff ----
  var sending = false;
  var halted = false;
  var backoff = 1000;
  var timer = null;

  function retryLater() {
    clearTimeout(timer);
    timer = setTimeout(flush, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
  function takeBatch(items) {
    var batch = [];
    var size = 0;
    for (var i = 0; i < items.length && batch.length < 100; i += 1) {
      var chars = JSON.stringify(items[i].event).length;
      if (batch.length && size + chars > MAX_BATCH_CHARS) {
        break;
      }
      batch.push(items[i]);
      size += chars;
    }
    return batch;
  }
  function undo(item, why) {
    var li = item.route === routeId ? stopOf(item.seq) : null;
    refuse("Stop " + item.seq + " (" + item.event.parcel_id + "): " + why);
    if (item.start) {
      if (item.route === routeId) {
        setStarted(false); // the card comes back: starting again is harmless
      }
      return;
    }
    if (li) {
      mark(item.seq, null);
      setState(li, li.dataset.serverState);
      refreshNext();
    }
  }
  function send(batch) {
    return fetch("/driver/scans", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ events: batch.map(function (item) { return item.event; }) }),
    });
  }
  function sendNext() {
    return queueAll().then(function (items) {
      if (!items.length || !navigator.onLine || halted) {
        return false;
      }
      var batch = takeBatch(items);
      var keys = batch.map(function (item) { return item.n; });
      return send(batch).then(function (response) {
        if (response.status === 403) {
          halted = true;
          refuse("Your session has ended: sign in again to send the waiting scans.");
          return false;
        }
        if (response.status === 422 || response.status === 413) {
          batch.forEach(function (item) { undo(item, "the service could not read this scan."); });
          return queueDelete(keys).then(function () { return true; });
        }
        if (!response.ok) {
          retryLater();
          return false;
        }
        return response.json().then(function (answer) {
          answer.results.forEach(function (result, i) {
            if (result.status === "rejected") {
              undo(batch[i], result.detail || result.code);
            }
          });
          backoff = 1000;
          return queueDelete(keys).then(function () { return true; });
        });
      }, function () {
        retryLater(); // no answer: the scans stay and go again (duplicates are harmless)
        return false;
      });
    });
  }
  var asked = false; // a flush was asked for while one ran: run again after it

  function flush() {
    if (sending) {
      asked = true;
      return Promise.resolve();
    }
    sending = true;
    asked = false;
    clearTimeout(timer);
    function loop() {
      return sendNext().then(function (more) {
        return updateCount().then(function () { return more ? loop() : null; });
      });
    }
    return loop().catch(function (err) {
      refuse("Could not send scans: " + err);
      retryLater();
    }).then(function () {
      sending = false;
      if (asked) {
        return flush();
      }
      return null;
    });
  }

  // ---- Making scans ----
  function uuid() {
    if (window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" + hex.slice(6, 8).join("") +
      "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10).join("");
  }
  function record(li, kind, extra, state) {
    var at = new Date().toISOString();
    var seq = li.dataset.seq;
    var items = li.dataset.parcels.split(" ").filter(Boolean).map(function (parcel) {
      var event = { event_id: uuid(), parcel_id: parcel, kind: kind, at: at, vehicle_id: vehicleId };
      Object.keys(extra).forEach(function (key) { event[key] = extra[key]; });
      return { route: routeId, seq: seq, event: event };
    });
    return queueAdd(items).then(function () {
      mark(seq, state);
      setState(li, state);
      li.classList.remove("open");
      refreshNext();
      return updateCount();
    }).then(flush);
  }

  function startRoute() {
    // Each parcel's scans in order (loaded, out for delivery...), all just before now:
    // the service applies a parcel's scans by time, and a delivery comes after them.
    var items = [];
    stops.forEach(function (li) {
      if (li.dataset.state !== "pending" || !li.dataset.start) {
        return;
      }
      li.dataset.start.split(" ").filter(Boolean).forEach(function (entry) {
        var parts = entry.split(":");
        parts[1].split(",").forEach(function (kind) {
          items.push({ route: routeId, seq: li.dataset.seq, start: true, event: {
            event_id: uuid(), parcel_id: parts[0], kind: kind, vehicle_id: vehicleId,
          } });
        });
      });
    });
    var now = Date.now();
    items.forEach(function (item, i) {
      item.event.at = new Date(now - items.length + i).toISOString();
    });
    if (!items.length) {
      setStarted(true);
      return Promise.resolve();
    }
    return queueAdd(items).then(function () {
      setStarted(true);
      return updateCount();
    }).then(flush);
  }
  var startButton = document.getElementById("start-route");
  if (startButton) {
    startButton.addEventListener("click", function () {
      startButton.disabled = true;
      startRoute().then(function () {
        startButton.disabled = false;
      }, function (err) {
        startButton.disabled = false;
        refuse("Could not start the route: " + err);
      });
    });
  }

  // ---- The proof: name, photo (shrunk in the browser), signature on a canvas ----
  var deliverDialog = document.getElementById("deliver-dialog");
  var failDialog = document.getElementById("fail-dialog");
  var canvas = document.getElementById("signature");
  var pen = canvas.getContext("2d");
  var photoInput = document.getElementById("photo");
  var preview = document.getElementById("photo-preview");
  var current = null;
  var inked = false;
  var drawing = false;
  var photo = "";

  function clearSignature() {
    pen.clearRect(0, 0, canvas.width, canvas.height);
    inked = false;
  }
  function point(event) {
    var box = canvas.getBoundingClientRect();
    return [
      (event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height,
    ];
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    var p = point(event);
    pen.lineWidth = 3;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.strokeStyle = "#111";
    pen.beginPath();
    pen.moveTo(p[0], p[1]);
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) {
      return;
    }
    var p = point(event);
    pen.lineTo(p[0], p[1]);
    pen.stroke();
    inked = true;
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    canvas.addEventListener(name, function () { drawing = false; });
  });
  document.getElementById("signature-clear").addEventListener("click", clearSignature);

  function shrink(file) {
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 800 / Math.max(bitmap.width, bitmap.height));
      var board = document.createElement("canvas");
      board.width = Math.max(1, Math.round(bitmap.width * scale));
      board.height = Math.max(1, Math.round(bitmap.height * scale));
      board.getContext("2d").drawImage(bitmap, 0, 0, board.width, board.height);
      var quality = 0.7;
      var url = board.toDataURL("image/jpeg", quality);
      while (url.length > 390000 && quality > 0.3) {
        quality -= 0.15;
        url = board.toDataURL("image/jpeg", quality);
      }
      return url;
    });
  }
  photoInput.addEventListener("change", function () {
    photo = "";
    preview.hidden = true;
    var file = photoInput.files && photoInput.files[0];
    if (!file) {
      return;
    }
    shrink(file).then(function (url) {
      photo = url;
      preview.src = url;
      preview.hidden = false;
    }, function () {
      refuse("This photo could not be read; take another.");
    });
  });

  function where(li) {
    return "Stop " + li.dataset.seq + ": " + li.dataset.address;
  }
  document.getElementById("stops").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) {
      return;
    }
    var li = button.closest(".stop");
    var action = button.dataset.action;
    if (action === "toggle") {
      var opened = li.classList.toggle("open");
      button.setAttribute("aria-expanded", opened ? "true" : "false");
      return;
    }
    current = li;
    if (action === "deliver") {
      document.getElementById("deliver-form").reset();
      document.getElementById("deliver-where").textContent = where(li);
      clearSignature();
      photo = "";
      preview.hidden = true;
      preview.removeAttribute("src");
      deliverDialog.showModal();
    } else if (action === "fail") {
      document.getElementById("fail-where").textContent = where(li);
      failDialog.showModal();
    }
  });
  deliverDialog.addEventListener("close", function () {
    if (deliverDialog.returnValue !== "confirm" || !current) {
      return;
    }
    var pickup = current.dataset.kind === "pickup";
    var proof = {
      recipient_name: document.getElementById("recipient").value.trim(),
      signature_ref: inked ? canvas.toDataURL("image/png") : "",
      photo_ref: photo,
    };
    record(current, pickup ? "return_picked_up" : "delivered", { proof: proof }, "done");
    deliverDialog.returnValue = "";
  });
  failDialog.addEventListener("close", function () {
    if (failDialog.returnValue !== "confirm" || !current) {
      return;
    }
    var reason = document.getElementById("reason").value;
    record(current, "failed_attempt", { failure_reason: reason }, "failed");
    failDialog.returnValue = "";
  });

  // ---- A breakdown needs the connection: say so instead of failing ----
  var incident = document.getElementById("incident-form");
  incident.addEventListener("submit", function (event) {
    var offline = !navigator.onLine;
    document.getElementById("incident-offline").hidden = !offline;
    if (offline) {
      event.preventDefault();
    }
  });

  window.addEventListener("online", function () {
    showConnection();
    halted = false;
    backoff = 1000;
    flush();
  });
  window.addEventListener("offline", function () {
    showConnection();
    updateCount();
  });

  showConnection();
  applyStarted();
  applyMarks();
  updateCount().then(flush);
})();
