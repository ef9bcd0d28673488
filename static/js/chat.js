// Small behaviours around the htmx WebSocket chat: send on Enter, keep the newest
// text in view, stop with Escape; confirm deletion in a <dialog>; page the sidebar.
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
    if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
      var stop = document.querySelector('.message[data-status="streaming"] .message-actions button, .message[data-status="queued"] .message-actions button');
      if (stop) stop.click();
    }
  });

  document.addEventListener("scroll", function (event) {
    if (event.target.id === "messages") {
      event.target.dataset.follow = nearBottom(event.target) ? "yes" : "no";
    }
    // htmx checks hx-trigger="revealed" on window scrolls only; the sidebar scrolls
    // inside its own box, so pass its scrolling on.
    if (event.target.id === "conversation-list") window.dispatchEvent(new Event("scroll"));
  }, true);

  // A link with data-confirm-dialog opens that <dialog> instead of the confirm page.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-confirm-dialog]");
    var dialog = opener && document.getElementById(opener.dataset.confirmDialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      var menu = opener.closest("details");
      if (menu) menu.open = false;
      dialog.showModal();
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("htmx:wsAfterMessage", function () { scrollToEnd(false); });
  document.addEventListener("htmx:wsAfterSend", function () { scrollToEnd(true); });
  document.addEventListener("DOMContentLoaded", function () { scrollToEnd(true); });
})();
