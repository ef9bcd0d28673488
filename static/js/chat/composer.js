// The composer's keys: Enter sends (Shift+Enter is a new line), Escape stops the answer
// being written, unless a dialog or the phone's drawer is open (they close first).
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim()) target.form.requestSubmit();
    }
    if (event.key === "Escape" && !document.querySelector("dialog[open], .layout.drawer-open")) {
      var stop = document.querySelector('.message[data-status="streaming"] .message-actions button, .message[data-status="queued"] .message-actions button');
      if (stop) stop.click();
    }
  });
})();
