// Folders in the sidebar: drag a conversation onto a folder (or back onto the list to take
// it out), press M on a focused conversation to move it with the keyboard, and remember a
// folder opened or closed. Moves post the sidebar's move form, which works without script.
(function () {
  "use strict";

  var TYPE = "application/x-homefire-conversation";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function moveForm() { return document.getElementById("folder-move-form"); }

  function sidebarLink(node) {
    return node && node.closest ? node.closest("#sidebar [data-conversation-id]") : null;
  }

  function move(conversationId, folderId) {
    var form = moveForm();
    if (!form) return;
    form.elements.conversation.value = conversationId;
    form.elements.folder.value = folderId;
    form.requestSubmit();
  }

  // Drag and drop: a conversation link onto a folder, or onto the list (no folder).
  document.addEventListener("dragstart", function (event) {
    var link = sidebarLink(event.target);
    if (!link) return;
    event.dataTransfer.setData(TYPE, link.dataset.conversationId);
    event.dataTransfer.effectAllowed = "move";
  });

  function dropZone(event) {
    if (!event.dataTransfer || event.dataTransfer.types.indexOf(TYPE) < 0) return null;
    // The innermost zone: a folder inside the list, else the list itself.
    return event.target.closest ? event.target.closest("#sidebar [data-drop-folder]") : null;
  }

  function clearHighlight() {
    document.querySelectorAll("#sidebar .drop-over").forEach(function (zone) {
      zone.classList.remove("drop-over");
    });
  }

  document.addEventListener("dragover", function (event) {
    var zone = dropZone(event);
    if (!zone) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("drop-over")) {
      clearHighlight();
      zone.classList.add("drop-over");
    }
  });

  document.addEventListener("dragend", clearHighlight);

  document.addEventListener("drop", function (event) {
    var zone = dropZone(event);
    if (!zone) return;
    event.preventDefault();
    clearHighlight();
    var id = event.dataTransfer.getData(TYPE);
    var link = document.querySelector('#sidebar [data-conversation-id="' + CSS.escape(id) + '"]');
    if (id && !(link && link.dataset.folder === zone.dataset.dropFolder)) {
      move(id, zone.dataset.dropFolder);
    }
  });

  // The keyboard: M on a conversation in the sidebar opens the move dialog.
  function openMoveDialog(link) {
    var dialog = document.getElementById("folder-move-dialog"), form = moveForm();
    if (!dialog || !form) return;
    form.elements.conversation.value = link.dataset.conversationId;
    form.elements.folder.value = link.dataset.folder || "";
    document.getElementById("folder-move-which").textContent = link.textContent.trim();
    dialog.showModal();
    form.elements.folder.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "m" && event.key !== "M") return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    var link = sidebarLink(event.target);
    if (!link) return;
    event.preventDefault();
    openMoveDialog(link);
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-folder-move-cancel]");
    if (cancel) cancel.closest("dialog").close();
  });

  // A folder opened or closed stays so on the next page (kept on the server, per member).
  document.addEventListener("toggle", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("details[data-collapse-url]")) return;
    var collapsed = box.open ? "0" : "1";
    if (box.dataset.collapsed === collapsed) return;  // as drawn: nothing changed
    box.dataset.collapsed = collapsed;
    var body = new FormData();
    body.append("collapsed", collapsed);
    fetch(box.dataset.collapseUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    });
  }, true);
})();
