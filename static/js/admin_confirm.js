// Admin pages: a form, or the button that submits it, with data-confirm asks first in the
// page's <dialog id="confirm-dialog"> (templates/_confirm_dialog.html); Cancel sends
// nothing. Without script the form submits at once. A list that refreshes itself (the
// workers page) holds its refresh while the dialog is open, so the form asked about stays.
(function () {
  "use strict";

  function question(form, submitter) {
    var source = submitter && submitter.dataset.confirm ? submitter : form;
    return { text: source.dataset.confirm, button: source.dataset.confirmButton || "Confirm" };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    var ask = question(form, submitter);
    var dialog = document.getElementById("confirm-dialog");
    if (!ask.text || form.dataset.confirmed || !dialog || !dialog.showModal) return;
    event.preventDefault();
    dialog.querySelector("#confirm-dialog-text").textContent = ask.text;
    dialog.querySelector("[data-confirm-ok]").textContent = ask.button;
    dialog.returnValue = "";
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "confirm" || !form.isConnected) return;
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter || undefined);
    }, { once: true });
    dialog.showModal();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.querySelector("dialog#confirm-dialog[open]")) event.preventDefault();
  });
})();
