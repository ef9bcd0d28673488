// A temporary chat lives only while its tab shows it (webui/chat/temporary.py). When the
// tab leaves the page (closed, or gone elsewhere) it says so with sendBeacon, which is
// delivered even while the page is torn down, and housekeeping deletes the chat within
// seconds. The tab also remembers (sessionStorage, which a reload keeps) that it has shown
// the chat: shown again (a reload), it ends it at once and goes to a new conversation
// that says so.
(function () {
  var chat = document.querySelector(".conversation.temporary[data-conversation]");
  if (!chat) return;
  var url = "/c/" + chat.dataset.conversation + "/leave/";
  var shown = "homefire-temporary-" + chat.dataset.conversation;

  function leaving(reload) {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    var form = new FormData();
    if (match) form.append("csrfmiddlewaretoken", decodeURIComponent(match[1]));
    if (reload) form.append("reload", "1");
    return form;
  }

  if (sessionStorage.getItem(shown)) {
    sessionStorage.removeItem(shown);
    chat.removeAttribute("ws-connect"); // no socket for a page that is going away
    fetch(url, { method: "POST", body: leaving(true), keepalive: true }).finally(function () {
      location.replace("/?ended=temporary");
    });
    return;
  }
  sessionStorage.setItem(shown, "1");
  window.addEventListener("pagehide", function () {
    if (navigator.sendBeacon) navigator.sendBeacon(url, leaving(false));
  });
})();
