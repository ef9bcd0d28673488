// Actions on one message: edit and resend a question, confirm a deletion in a <dialog>,
// and focus kept on the control used when an action redraws the messages. Regenerate,
// Continue and the version arrows are plain ws-send forms.
(function () {
  "use strict";

  function closeEdit(article) {
    var form = article.querySelector("form.message-edit");
    if (form) form.remove();
    article.classList.remove("editing");
    var edit = article.querySelector("[data-edit]");
    if (edit) { edit.hidden = false; edit.focus(); }
  }

  function openEdit(article) {
    if (article.querySelector("form.message-edit")) return;
    var template = article.querySelector("template[data-edit-form]");
    var form = template.content.firstElementChild.cloneNode(true);
    article.querySelector(".message-body").after(form);
    article.classList.add("editing");
    article.querySelector("[data-edit]").hidden = true;
    if (window.htmx) window.htmx.process(form);
    var area = form.querySelector("textarea");
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  document.addEventListener("click", function (event) {
    var edit = event.target.closest("[data-edit]");
    if (edit) { openEdit(edit.closest(".message")); return; }
    var cancel = event.target.closest("[data-edit-cancel]");
    if (cancel) { closeEdit(cancel.closest(".message")); return; }
    var remove = event.target.closest("[data-delete-message]");
    var dialog = document.getElementById("message-delete-dialog");
    if (remove && dialog && dialog.showModal) {
      event.preventDefault();
      dialog.querySelector("form").action = remove.getAttribute("href");
      dialog.showModal();
    }
  });

  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area.closest || !area.closest("form.message-edit")) return;
    if (event.key === "Escape") {
      event.stopPropagation();  // not the page's Escape, which stops an answer
      closeEdit(area.closest(".message"));
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (area.value.trim()) area.form.requestSubmit();
    }
  }, true);

  // A message action redraws the messages: put focus back on the same control of the
  // message in the same place (the arrow pressed, or Regenerate on the new version).
  var pending = null;
  document.addEventListener("htmx:wsBeforeSend", function (event) {
    var form = event.target.closest && event.target.closest(".message-tools form, form.message-edit");
    var article = form && form.closest(".message");
    if (!article) { pending = null; return; }
    var button = form.querySelector("button[type=submit]");
    pending = {
      index: Array.prototype.indexOf.call(article.parentNode.children, article),
      label: button.getAttribute("aria-label") || button.textContent.trim(),
    };
  });

  // With it, how many messages come before the first one the tab shows: the redraw
  // then starts at the same one, so the index above finds the same message.
  document.addEventListener("htmx:wsConfigSend", function (event) {
    if (!event.target.closest || !event.target.closest(".message")) return;
    var earlier = document.getElementById("earlier-messages");
    event.detail.parameters.earlier = earlier ? earlier.dataset.earlierCount : "0";
  });

  function restoreFocus() {
    if (!pending || (document.activeElement && document.activeElement !== document.body)) return;
    var list = document.getElementById("messages");
    var article = list && list.children[pending.index];
    if (!article) return;
    var target = Array.prototype.find.call(article.querySelectorAll("button, a"), function (el) {
      return (el.getAttribute("aria-label") || el.textContent.trim()) === pending.label && !el.disabled;
    }) || article.querySelector(".message-tools button:not([disabled]), .message-actions button");
    if (target) { target.focus(); pending = null; }
  }

  document.addEventListener("htmx:wsAfterMessage", restoreFocus);
})();
