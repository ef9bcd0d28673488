// A streaming answer is drawn as Markdown by the server every so often
// (webui/chat/markdown_stream.py); the text that came after its last render is shown
// as plain text where its growing block ends (.stream-pending), until the next render
// takes it in. The whole text streams into the hidden .stream-text; the growing block
// says how much of it it holds (data-chars, in JavaScript's string units).
(function () {
  "use strict";

  function showPending() {
    document.querySelectorAll(".message-body.streaming").forEach(function (body) {
      var raw = body.querySelector(".stream-text");
      var tail = body.querySelector(".stream-tail");
      var pending = tail && tail.querySelector(".stream-pending");
      if (!raw || !pending) return;
      var text = raw.textContent.slice(Number(tail.dataset.chars) || 0);
      if (pending.textContent !== text) pending.textContent = text;
    });
  }

  document.addEventListener("htmx:wsAfterMessage", showPending);
  document.addEventListener("DOMContentLoaded", showPending);
  document.addEventListener("homefire:page", showPending);
})();
