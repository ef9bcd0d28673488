// Panels that open in place (the <details> menus Settings and Options): their close
// button, Escape and a click or tap outside close them, and focus goes back to the
// button that opened them.
(function () {
  "use strict";

  var PANELS = "details.conversation-settings[open], details.conversation-menu[open]";

  function closePanel(details) {
    details.open = false;
    var opener = details.querySelector("summary");
    if (opener) opener.focus();
  }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-panel]");
    if (closer) { closePanel(closer.closest("details")); return; }
    document.querySelectorAll(PANELS).forEach(function (details) {
      if (details.contains(event.target)) return;
      details.open = false;
      // Back to its button, unless the click gave focus to another control (not just
      // to a container such as #main, which takes focus only for the skip link).
      var focus = document.activeElement;
      if (!focus || focus.tabIndex < 0 || focus === document.body || details.contains(focus)) {
        details.querySelector("summary").focus();
      }
    });
  });

  // Captured before the page's own Escape (which stops a running answer).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    var open = document.querySelectorAll(PANELS);
    if (!open.length) return;
    event.stopPropagation();
    event.preventDefault();
    open.forEach(closePanel);
  }, true);
})();
