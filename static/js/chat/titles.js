// A conversation's automatic title comes over its socket as a new page header
// (templates/chat/_conversation_title.html, marked data-retitled); the sidebar's link, the
// Options' title field (unless the member changed it there) and the tab's title follow.
(function () {
  function follow() {
    var head = document.querySelector("#conversation-title[data-retitled]");
    var conversation = document.querySelector("[data-conversation]");
    if (!head || !conversation) return;
    head.removeAttribute("data-retitled");
    var title = head.textContent;
    var link = document.querySelector(
      '.conversation-link[data-conversation-id="' + conversation.dataset.conversation + '"]'
    );
    var field = document.getElementById("rename-title");
    if (field && field.value === field.defaultValue) field.value = field.defaultValue = title;
    if (link) link.textContent = title;
    document.title = title + " · Homefire";
  }

  document.addEventListener("htmx:wsAfterMessage", follow);
})();
