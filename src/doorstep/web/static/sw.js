// The driver page's service worker (served at /driver/sw.js, scope /driver).
// The page's files are kept in a cache (cache first); the driver's pages, which
// hold the route, are fetched from the network when there is one and kept, so
// the last route seen opens without a connection. Scans are not sent from here:
// driver.js keeps them in IndexedDB and sends them itself.
"use strict";

var CACHE = "doorstep-driver-v1";
var ASSETS = [
  "/static/app.css",
  "/static/driver.css",
  "/static/driver.js",
  "/static/vendor/htmx.min.js",
  "/static/driver-icon.svg",
  "/driver/manifest.webmanifest",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("doorstep-driver-") === 0 && name !== CACHE;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

function fromCache(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (found) {
      return found || cache.match("/driver");
    });
  });
}

function page(request) {
  if (!self.navigator.onLine) {
    return fromCache(request).then(function (found) {
      return found || fetch(request);
    });
  }
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) {
        return cache.put(request, copy);
      });
    }
    return response;
  }).catch(function () {
    return fromCache(request).then(function (found) {
      return found || Response.error();
    });
  });
}

function asset(request) {
  // Stale while revalidate: the kept copy at once, a fresh one kept for next time.
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (found) {
      var fresh = null;
      if (self.navigator.onLine || !found) {
        fresh = fetch(request).then(function (response) {
          if (response.ok) {
            cache.put(request, response.clone());
          }
          return response;
        });
      }
      if (found) {
        if (fresh) {
          fresh.catch(function () { return null; });
        }
        return found;
      }
      return fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return; // scans and forms go to the network as they are
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && (url.pathname === "/driver" || url.pathname.indexOf("/driver/routes/") === 0)) {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(asset(request));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "forget") { // signing out: no route stays on the phone
    event.waitUntil(caches.delete(CACHE));
  }
});
