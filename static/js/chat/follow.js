// Keep the newest text in view while the reader is at the bottom of the messages (not
// once they scrolled up to read), and page the sidebar as it scrolls.
(function () {
  "use strict";

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function scrollToEnd(force) {
    var list = document.getElementById("messages");
    if (list && (force || list.dataset.follow !== "no")) list.scrollTop = list.scrollHeight;
  }

  document.addEventListener("scroll", function (event) {
    if (event.target.id === "messages") {
      event.target.dataset.follow = nearBottom(event.target) ? "yes" : "no";
    }
    // htmx checks hx-trigger="revealed" on window scrolls only; the sidebar scrolls
    // inside its own box, so pass its scrolling on.
    if (event.target.id === "conversation-list") window.dispatchEvent(new Event("scroll"));
  }, true);

  document.addEventListener("htmx:wsAfterMessage", function () { scrollToEnd(false); });
  document.addEventListener("htmx:wsAfterSend", function () { scrollToEnd(true); });
  document.addEventListener("DOMContentLoaded", function () { scrollToEnd(true); });
  document.addEventListener("homefire:page", function () { scrollToEnd(true); });
})();
