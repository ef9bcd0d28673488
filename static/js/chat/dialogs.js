// Confirmations in a <dialog> instead of a confirm page: a link with data-confirm-dialog
// opens that dialog; a form with data-confirm asks in the page's #confirm-dialog
// (templates/_confirm_dialog.html) and without script submits at once. A tap on a
// dialog's backdrop closes it.
(function () {
  "use strict";

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

  document.addEventListener("click", function (event) {
    var dialog = event.target;
    if (dialog.tagName === "DIALOG" && dialog.open) {
      var box = dialog.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) dialog.close();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = document.getElementById("confirm-dialog");
    if (!form.dataset.confirm || form.dataset.confirmed || !dialog || !dialog.showModal) return;
    event.preventDefault();
    var submitter = event.submitter;
    dialog.querySelector("#confirm-dialog-text").textContent = form.dataset.confirm;
    dialog.querySelector("[data-confirm-ok]").textContent = form.dataset.confirmButton || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "confirm") return;
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    }, { once: true });
    dialog.showModal();
  });
})();
