/* mautomation embedded form. Put this tag where the form should appear on your site:
 *
 *   <script src="https://MA-HOST/f/FORM-SLUG/embed.js" async></script>
 *
 * It inserts an iframe of the form (served from MA-HOST with ?embed=1), passing
 * along the visitor id of the tracking tag (window.mautomation.visitorId(), when
 * that tag is on the page), this page's URL, its referrer and its UTM
 * parameters, so the submission joins the visitor's page views and keeps its
 * campaign. The form answers only to the sites listed in its allowed origins.
 * Served at /f/<slug>/embed.js: the form's URL is this script's own URL.
 */
(function (window, document) {
  "use strict";

  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var script = document.currentScript;
  if (!script || !script.src) return;
  var formUrl = script.src.replace(/embed\.js(\?.*)?$/, "");
  var formOrigin = new URL(formUrl).origin;

  var VID_COOKIE = "_mauto_vid"; // track.js's first-party cookie, which it reads before anything else
  var VID_FORMAT = /^[A-Za-z0-9_-]{16,64}$/;

  function visitorId() {
    var api = window.mautomation;
    try {
      if (api && typeof api.visitorId === "function") return api.visitorId() || "";
    } catch (e) {
      return "";
    }
    return sharedVisitorId();
  }

  // Both tags load async, so the tracking tag may run after this one. Then the id comes from its
  // cookie (a returning visitor) or is made here and left in that cookie, where track.js finds and
  // keeps it: the submission joins the page views either way. No tracking tag, no cookie.
  function sharedVisitorId() {
    var match = document.cookie.match(/(?:^|;\s*)_mauto_vid=([^;]*)/);
    if (match && VID_FORMAT.test(match[1])) return match[1];
    if (!document.querySelector("script[data-endpoint][src*='track']") || !window.crypto) return "";
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    var id = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = VID_COOKIE + "=" + id + "; Max-Age=63072000; Path=/; SameSite=Lax" + secure;
    return id;
  }

  function frameSrc() {
    var params = new URLSearchParams({ embed: "1" });
    var here = new URL(window.location.href);
    var vid = visitorId();
    if (vid) params.set("vid", vid);
    params.set("page", window.location.href.slice(0, 2000));
    if (/^https?:\/\//i.test(document.referrer)) params.set("ref", document.referrer.slice(0, 2000));
    UTM.forEach(function (name) {
      var value = here.searchParams.get(name);
      if (value) params.set(name, value.slice(0, 300));
    });
    return formUrl + "?" + params.toString();
  }

  var frame = document.createElement("iframe");
  frame.src = frameSrc();
  frame.title = script.getAttribute("data-title") || "form";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;border:0;min-height:320px;";
  script.parentNode.insertBefore(frame, script.nextSibling);

  // The form reports its height so the frame shows it whole, without a scroll bar.
  window.addEventListener("message", function (event) {
    if (event.origin !== formOrigin || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.mautomation === "form-height" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.min(data.height + 4, 10000) + "px";
    }
  });
})(window, document);
