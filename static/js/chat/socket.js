// A socket the server closed for good says why, where a refused message would
// (codes from webui/chat/consumers.py; after these the ws extension does not reconnect).
(function () {
  var CLOSED = {
    4401: "This tab is signed out: you logged out, your password was changed, or an admin " +
      "deactivated or deleted your account. Reload the page to sign in again.",
    4403: "Your account may not use Homefire now: it waits for an admin's approval. Reload the page.",
    4404: "This conversation is gone (deleted, or not yours). Reload the page.",
  };

  document.addEventListener("htmx:wsClose", function (event) {
    var reason = CLOSED[event.detail.event.code];
    var box = document.getElementById("composer-error");
    if (reason && box) box.textContent = reason;
  });
})();
