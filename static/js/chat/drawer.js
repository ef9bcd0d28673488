// The sidebar as a drawer on phones: its toggle, close button, backdrop and Escape; the
// page behind it is inert while it is open.
(function () {
  "use strict";

  function layout() { return document.getElementById("layout"); }

  function setDrawer(open) {
    var frame = layout(), toggle = document.getElementById("sidebar-toggle");
    if (!frame || !toggle) return;
    var wasOpen = frame.classList.contains("drawer-open");
    frame.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    var backdrop = frame.querySelector(".drawer-backdrop");
    if (backdrop) backdrop.hidden = !open;
    // While the drawer is open, the page behind it takes no focus or clicks.
    var main = frame.querySelector(".main");
    if (main) main.inert = open;
    if (open) {
      var first = document.querySelector("#sidebar .new-chat");
      if (first) first.focus();
    } else if (wasOpen && (document.activeElement === document.body || document.activeElement.closest("#sidebar"))) {
      toggle.focus();  // closed with Escape, its close button or a tap beside it
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#sidebar-toggle")) {
      setDrawer(!layout().classList.contains("drawer-open"));
    } else if (event.target.closest("[data-close-drawer]")) {
      setDrawer(false);
    }
  });

  document.addEventListener("keydown", function (event) {
    var frame = layout();
    if (event.key === "Escape" && frame && frame.classList.contains("drawer-open")) setDrawer(false);
  });

  // Grown past phone width with the drawer open: the sidebar is a column again.
  var phone = window.matchMedia("(max-width: 720px)");
  if (phone.addEventListener) phone.addEventListener("change", function (event) {
    if (!event.matches) setDrawer(false);
  });
})();
