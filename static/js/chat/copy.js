// Copy buttons: an answer's text (its Markdown source, from a <template>) and each code
// block's text; code blocks get a head with their language and the button.
(function () {
  "use strict";

  function copyText(text, button) {
    function done(ok) {
      var label = button.textContent;
      button.textContent = ok ? "Copied" : "Copy failed";
      button.classList.toggle("copied", ok);
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
    }
    function fallback() {
      // Plain http on another host has no navigator.clipboard: copy through a selection.
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      button.focus();
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  // Every code block of a rendered answer gets a head with its language and a Copy
  // button: above the code, so that the button never narrows it (the HTML inside stays
  // as sanitized; only the wrapper is new).
  function addCodeCopyButtons(root) {
    (root || document).querySelectorAll(".message .markdown pre").forEach(function (pre) {
      if (pre.dataset.copyReady) return;
      pre.dataset.copyReady = "yes";
      var block = document.createElement("div");
      block.className = "code-block";
      var head = document.createElement("div");
      head.className = "code-head";
      var language = document.createElement("span");
      var code = pre.querySelector("code");
      var match = code && /(?:^|\s)language-(\S+)/.exec(code.className);
      language.textContent = match ? match[1] : "";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small copy-code";
      button.dataset.copy = "code";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      head.append(language, button);
      pre.parentNode.insertBefore(block, pre);
      block.append(head, pre);
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var text;
      if (copy.dataset.copy === "code") {
        text = copy.closest(".code-block").querySelector("pre").innerText;
      } else {
        var source = copy.parentNode.querySelector("template[data-copy-source]");
        text = source ? source.content.textContent : "";
      }
      copyText(text, copy);
    }
  });

  document.addEventListener("htmx:wsAfterMessage", function () { addCodeCopyButtons(); });
  document.addEventListener("htmx:load", function () { addCodeCopyButtons(); });
  document.addEventListener("DOMContentLoaded", function () { addCodeCopyButtons(); });
  document.addEventListener("homefire:page", function () { addCodeCopyButtons(); });
})();
