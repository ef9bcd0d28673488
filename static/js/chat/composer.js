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

  // The first question of a new conversation goes by htmx (templates/chat/home.html) and
  // its page replaces the body. A question the server refused comes back as the
  // new-conversation page with the reason (400), swapped in the same way, so that the
  // words stay in the composer; any other refusal (a 403 once the session's cookies are
  // gone) shows as the page, as the plain form's post would show it. A post that was
  // redirected elsewhere (signed out meanwhile: the sign-in page) goes there as a page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!form || !form.matches("form[data-start]")) return;
    var xhr = event.detail.xhr;
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== new URL(form.action).pathname) {
      event.detail.shouldSwap = false;
      location.assign(xhr.responseURL);
    } else if (xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // What starts with a page (DOMContentLoaded) starts again on "homefire:page" once a new
  // body has settled.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target === document.body) document.dispatchEvent(new Event("homefire:page"));
  });
})();
