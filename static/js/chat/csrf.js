// htmx posts (an answer's 👍/👎) carry the CSRF token from its cookie: their forms may
// have been drawn by the socket, with no request to put the token in them.
(function () {
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb === "get") return;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
  });
})();
