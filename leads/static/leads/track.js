/* mautomation website tracking. Put this one tag on every page of your site:
 *
 *   <script src="https://MA-HOST/static/leads/track.js" data-endpoint="https://MA-HOST/t/" async></script>
 *
 * It keeps a random visitor id in a first-party cookie (_mauto_vid, 2 years,
 * SameSite=Lax) and in localStorage on your site, and reports one page view per
 * load. Forms on the page send window.mautomation.visitorId() along with the
 * email address, which joins the visitor's page views to the lead. The id is
 * random: nothing here identifies a person until they fill in a form, or arrive
 * through a link in one of our emails: that link carries ?mt_lid=<signed token>,
 * which the first page view hands back and which is then removed from the URL.
 * Single-page apps call window.mautomation.pageView() after a route change.
 */
(function (window, document) {
  "use strict";

  var NAME = "_mauto_vid";
  var MAX_AGE = 2 * 365 * 24 * 60 * 60;
  var ID_FORMAT = /^[A-Za-z0-9_-]{16,64}$/;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var PIXEL_URL_MAX = 4000; // servers refuse longer request lines (gunicorn: 4094)

  var api = (window.mautomation = window.mautomation || {});
  if (api.visitorId) return; // the tag is on the page twice: count the view once

  var endpoint = findEndpoint();
  var vid = visitorId();
  var identity = takeIdentity();
  api.visitorId = function () {
    return vid;
  };
  api.pageView = function () {
    if (endpoint) send(collect());
  };

  if (!endpoint) {
    if (window.console) window.console.warn("mautomation: the script tag has no data-endpoint");
  } else if (document.prerendering) {
    document.addEventListener("prerenderingchange", api.pageView, { once: true });
  } else {
    api.pageView();
  }

  function findEndpoint() {
    var tag = document.currentScript || document.querySelector("script[data-endpoint][src*='track']");
    var url = tag ? tag.getAttribute("data-endpoint") || "" : "";
    return url && url.charAt(url.length - 1) !== "/" ? url + "/" : url;
  }

  function visitorId() {
    var id = readCookie();
    if (!ID_FORMAT.test(id)) id = readStorage();
    if (!ID_FORMAT.test(id)) id = newId();
    remember(id); // every visit pushes the expiry two years ahead
    return id;
  }

  function readCookie() {
    var match = document.cookie.match(/(?:^|;\s*)_mauto_vid=([^;]*)/);
    return match ? match[1] : "";
  }

  function readStorage() {
    try {
      return window.localStorage.getItem(NAME) || "";
    } catch (e) {
      return ""; // storage disabled: the cookie alone keeps the id
    }
  }

  function remember(id) {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = NAME + "=" + id + "; Max-Age=" + MAX_AGE + "; Path=/; SameSite=Lax" + secure;
    try {
      window.localStorage.setItem(NAME, id);
    } catch (e) {
      // private browsing or a full quota: the cookie is enough
    }
  }

  function newId() {
    var bytes = new Uint8Array(16);
    var crypto = window.crypto || window.msCrypto;
    var i;
    if (crypto && crypto.getRandomValues) {
      crypto.getRandomValues(bytes);
    } else {
      for (i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var id = "";
    for (i = 0; i < bytes.length; i++) id += (bytes[i] + 256).toString(16).slice(1);
    return id; // 32 hex digits
  }

  // The email click's token: sent once, and kept out of bookmarks, shared links and the recorded URL.
  function takeIdentity() {
    if (!window.URLSearchParams || !window.URL) return "";
    var url = new window.URL(window.location.href);
    var token = url.searchParams.get("mt_lid") || "";
    if (!token) return "";
    url.searchParams["delete"]("mt_lid");
    try {
      window.history.replaceState(window.history.state, "", url.toString());
    } catch (e) {
      // a sandboxed page: the token simply stays visible
    }
    return clip(token, 80);
  }

  function cleanHref() {
    if (!window.URL) return window.location.href;
    var url = new window.URL(window.location.href);
    url.searchParams["delete"]("mt_lid");
    return url.toString();
  }

  function collect() {
    var fields = { visitor_id: vid, url: clip(cleanHref(), 2000), title: clip(document.title, 300) };
    if (identity) {
      fields.mt_lid = identity;
      identity = ""; // a single-page app's later views need not repeat it
    }
    if (/^https?:\/\//i.test(document.referrer)) fields.referrer = clip(document.referrer, 2000);
    if (window.URLSearchParams) {
      var query = new window.URLSearchParams(window.location.search);
      for (var i = 0; i < UTM.length; i++) {
        if (query.get(UTM[i])) fields[UTM[i]] = clip(query.get(UTM[i]), 300);
      }
    }
    return fields;
  }

  function clip(text, length) {
    text = String(text || "");
    return text.length > length ? text.slice(0, length) : text;
  }

  // sendBeacon survives the page being closed; a text/plain body needs no CORS preflight.
  function send(fields) {
    var url = endpoint + "pv";
    var body = JSON.stringify(fields);
    if (window.navigator.sendBeacon && window.navigator.sendBeacon(url, body)) return;
    if (window.fetch) {
      var init = { method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit" };
      init.headers = { "Content-Type": "text/plain" };
      window.fetch(url, init)["catch"](function () {
        pixel(fields);
      });
      return;
    }
    pixel(fields);
  }

  function pixel(fields) {
    var src = endpoint + "pv.gif?" + encode(fields);
    if (src.length > PIXEL_URL_MAX) {
      src = endpoint + "pv.gif?" + encode({ visitor_id: fields.visitor_id, url: fields.url });
    }
    new Image(1, 1).src = src;
  }

  function encode(fields) {
    var parts = [];
    for (var name in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, name) && fields[name]) {
        parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(fields[name]));
      }
    }
    return parts.join("&");
  }
})(window, document);
