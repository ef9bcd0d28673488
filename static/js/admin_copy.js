// Admin pages: a button with data-copy-text copies that text (an invitation link) and
// says so for a moment. Served from Homefire's own static files, as every script is.
(function () {
  "use strict";

  function copied(button, ok) {
    var label = button.textContent;
    button.textContent = ok ? "Copied" : "Select and copy the link";
    setTimeout(function () { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-text]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy-text");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button, true); },
        function () { copied(button, false); });
      return;
    }
    // Plain HTTP on an office network has no clipboard API: copy from a selection.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    document.body.removeChild(area);
    copied(button, ok);
  });
})();
