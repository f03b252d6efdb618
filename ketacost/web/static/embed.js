/* ketacost calculator, embedded with one line on a clinic's page:
 *   <script src="(the calculator's address)/embed.js" async></script>
 * Puts an <iframe> of /calculator where the script tag is and keeps it as tall as its
 * content. The calculator only answers to origins its configuration allows (CSP
 * frame-ancestors). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, document.baseURI);
  var frame = document.createElement("iframe");
  frame.src = new URL("calculator", base).href;
  frame.title = script.getAttribute("data-title") || "Treatment cost calculator";
  frame.style.width = "100%";
  frame.style.minHeight = "60rem";
  frame.style.border = "0";
  frame.setAttribute("referrerpolicy", "no-referrer");
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== base.origin || event.source !== frame.contentWindow) return;
    var msg = event.data;
    if (msg && msg.type === "ketacost:height" && typeof msg.height === "number" && msg.height > 0) {
      frame.style.height = Math.ceil(msg.height) + "px";
    }
  });
})();
