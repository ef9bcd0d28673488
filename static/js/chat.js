// Small behaviours around the htmx WebSocket chat: send on Enter, keep the newest
// text in view, stop with Escape.
(function () {
  "use strict";

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function scrollToEnd(force) {
    var list = document.getElementById("messages");
    if (list && (force || list.dataset.follow !== "no")) list.scrollTop = list.scrollHeight;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim()) target.form.requestSubmit();
    }
    if (event.key === "Escape") {
      var stop = document.querySelector('.message[data-status="streaming"] .message-actions button, .message[data-status="queued"] .message-actions button');
      if (stop) stop.click();
    }
  });

  document.addEventListener("scroll", function (event) {
    if (event.target.id === "messages") {
      event.target.dataset.follow = nearBottom(event.target) ? "yes" : "no";
    }
  }, true);

  document.addEventListener("htmx:wsAfterMessage", function () { scrollToEnd(false); });
  document.addEventListener("htmx:wsAfterSend", function () { scrollToEnd(true); });
  document.addEventListener("DOMContentLoaded", function () { scrollToEnd(true); });
})();
