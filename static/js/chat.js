// Small behaviours around the htmx WebSocket chat: send on Enter, keep the newest
// text in view, stop with Escape; confirm deletion in a <dialog>; page the sidebar.
(function () {
  "use strict";

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function scrollToEnd(force) {
    var list = document.getElementById("messages");
    if (list && (force || list.dataset.follow !== "no")) list.scrollTop = list.scrollHeight;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim()) target.form.requestSubmit();
    }
    if (event.key === "Escape" && !document.querySelector("dialog[open], .layout.drawer-open")) {
      var stop = document.querySelector('.message[data-status="streaming"] .message-actions button, .message[data-status="queued"] .message-actions button');
      if (stop) stop.click();
    }
  });

  document.addEventListener("scroll", function (event) {
    if (event.target.id === "messages") {
      event.target.dataset.follow = nearBottom(event.target) ? "yes" : "no";
    }
    // htmx checks hx-trigger="revealed" on window scrolls only; the sidebar scrolls
    // inside its own box, so pass its scrolling on.
    if (event.target.id === "conversation-list") window.dispatchEvent(new Event("scroll"));
  }, true);

  // A link with data-confirm-dialog opens that <dialog> instead of the confirm page.
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

  document.addEventListener("htmx:wsAfterMessage", function () { scrollToEnd(false); });
  document.addEventListener("htmx:wsAfterSend", function () { scrollToEnd(true); });
  document.addEventListener("DOMContentLoaded", function () { scrollToEnd(true); });
})();

// The sidebar as a drawer on phones, and the models' live states in pickers and badges.
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

  function applyStates(states) {
    states.forEach(function (s) {
      document.querySelectorAll('[data-model-slug="' + CSS.escape(s.slug) + '"]').forEach(function (el) {
        el.dataset.modelState = s.state;
        el.dataset.modelWaiting = String(s.waiting);
        el.textContent = el.tagName === "OPTION" ? el.dataset.modelName + " — " + s.label : s.label;
      });
    });
  }

  // A model's state changes with its workers' heartbeats and with every team member's
  // queued answers, which no event reaches a page with (the new-conversation page has
  // no socket at all): ask for them now and then.
  function pollStates() {
    var frame = layout();
    if (document.hidden || !frame || !document.querySelector("[data-model-state]")) return;
    fetch(frame.dataset.modelStatesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        applyStates(data.models);
        document.dispatchEvent(new CustomEvent("homefire:model-states", { detail: data.models }));
      })
      .catch(function () { /* the next poll tries again */ });
  }

  setInterval(pollStates, 5000);
  // A waiting answer was drawn again (its place changed): the badge catches up at once.
  document.addEventListener("homefire:poll-states", pollStates);
})();

// Actions on one message: copy an answer or a code block, edit and resend a question,
// confirm a deletion in a <dialog>. Regenerate, Continue and the version arrows are
// plain ws-send forms.
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
      return;
    }
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

  document.addEventListener("htmx:wsAfterMessage", function () { addCodeCopyButtons(); restoreFocus(); });
  document.addEventListener("htmx:load", function () { addCodeCopyButtons(); });
  document.addEventListener("DOMContentLoaded", function () { addCodeCopyButtons(); });
})();

// TeX math: the server leaves the source, escaped, in .math-inline and .math-display
// elements (webui/chat/markdown_math.py); KaTeX typesets it here. Untrusted input:
// no \href, \url or \includegraphics (trust: false), errors shown in place, sizes and
// macro expansion bounded.
(function () {
  "use strict";

  var OPTIONS = { throwOnError: false, trust: false, strict: "ignore", maxSize: 10, maxExpand: 500 };

  // KaTeX gives a few SVG and MathML nodes a style attribute with setAttribute, which the
  // Content-Security-Policy (style-src 'self', no 'unsafe-inline') refuses. The same
  // styles through the CSSOM (element.style) are allowed, so while KaTeX draws, and only
  // then, a style attribute goes there: the page needs no inline-style permission.
  function typeset(el) {
    var plain = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (name, value) {
      if (name === "style") { this.style.cssText = value; return; }
      return plain.call(this, name, value);
    };
    var source = el.textContent;
    try {
      window.katex.render(source, el, Object.assign({ displayMode: el.classList.contains("math-display") }, OPTIONS));
      el.dataset.tex = source;
    } catch (error) {
      el.textContent = source;  // not typeset: the source stays readable
    } finally {
      Element.prototype.setAttribute = plain;
    }
  }

  function typesetAll() {
    if (!window.katex) return;
    document.querySelectorAll(".markdown :is(.math-inline, .math-display):not([data-tex])").forEach(typeset);
  }

  document.addEventListener("htmx:wsAfterMessage", typesetAll);
  document.addEventListener("htmx:load", typesetAll);
  document.addEventListener("DOMContentLoaded", typesetAll);
})();

// Panels that open in place (the <details> menus Settings and Options): their close
// button, Escape and a click or tap outside close them, and focus goes back to the
// button that opened them. A <dialog> also closes on a tap on its backdrop.
(function () {
  "use strict";

  var PANELS = "details.conversation-settings[open], details.conversation-menu[open]";

  function closePanel(details) {
    details.open = false;
    var opener = details.querySelector("summary");
    if (opener) opener.focus();
  }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-panel]");
    if (closer) { closePanel(closer.closest("details")); return; }
    document.querySelectorAll(PANELS).forEach(function (details) {
      if (details.contains(event.target)) return;
      details.open = false;
      // Back to its button, unless the click gave focus to another control (not just
      // to a container such as #main, which takes focus only for the skip link).
      var focus = document.activeElement;
      if (!focus || focus.tabIndex < 0 || focus === document.body || details.contains(focus)) {
        details.querySelector("summary").focus();
      }
    });
    var dialog = event.target;
    if (dialog.tagName === "DIALOG" && dialog.open) {
      var box = dialog.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) dialog.close();
    }
  });

  // A form with data-confirm asks first, in the page's <dialog id="confirm-dialog">
  // (templates/_confirm_dialog.html); without script it submits at once.
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

  // Captured before the page's own Escape (which stops a running answer).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    var open = document.querySelectorAll(PANELS);
    if (!open.length) return;
    event.stopPropagation();
    event.preventDefault();
    open.forEach(closePanel);
  }, true);
})();

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

// htmx posts (an answer's 👍/👎) carry the CSRF token from its cookie: their forms may
// have been drawn by the socket, with no request to put the token in them.
(function () {
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb === "get") return;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
  });
})();

// Waiting made honest: a waiting answer's estimate counts down each second from the
// figures the server drew (a redraw brings new ones), an answer taken but without text
// says "Writing…" only once its first text is in, and the waiting text and the model's
// badge say the same thing about whether a worker serves the model.
(function () {
  "use strict";

  function where(ahead) {
    return ahead > 0 ? ahead + " ahead of you" : "next in line";
  }

  function countDown() {
    var now = Date.now(), drawn = false;
    document.querySelectorAll(".queue-place").forEach(function (place) {
      if (!place.dataset.queueFrom) { place.dataset.queueFrom = String(now); drawn = true; }
      if (!place.dataset.queueSeconds) return;
      var left = Number(place.dataset.queueSeconds) - Math.floor((now - Number(place.dataset.queueFrom)) / 1000);
      if (String(left) === place.dataset.queueLeft) return;
      place.dataset.queueLeft = String(left);
      var estimate = left < 1 ? "any moment now" : left < 90 ? "about " + left + " s" : "about " + Math.round(left / 60) + " min";
      place.textContent = where(Number(place.dataset.queueAhead)) + ", " + estimate;
    });
    if (drawn) document.dispatchEvent(new Event("homefire:poll-states"));
  }

  function firstText() {
    document.querySelectorAll('.message[data-status="streaming"] .state:is([data-writing="no"], [data-waiting="slot"])').forEach(function (state) {
      var text = state.closest(".message").querySelector(".stream-text");
      if (!text || !text.textContent) return;
      state.textContent = "Writing…";
      state.dataset.writing = "yes";
      delete state.dataset.waiting;
    });
  }

  function badges(slug) {
    return document.querySelectorAll('[data-model-slug="' + CSS.escape(slug) + '"]');
  }

  // A redraw says no worker serves an answer's model: its badge says so at once.
  function badgesFollowAnswers() {
    document.querySelectorAll('.message[data-status="queued"] .state[data-waiting="worker"]').forEach(function (state) {
      badges(state.dataset.answerModel).forEach(function (badge) {
        badge.dataset.modelState = "no-worker";
        badge.textContent = badge.tagName === "OPTION" ? badge.dataset.modelName + " — no worker" : "no worker";
      });
    });
  }

  // The badge's poll says otherwise than a queued answer: the answer follows it until the
  // next redraw brings its place.
  document.addEventListener("homefire:model-states", function (event) {
    event.detail.forEach(function (s) {
      document.querySelectorAll('.message[data-status="queued"] .state[data-answer-model="' + CSS.escape(s.slug) + '"]').forEach(function (state) {
        var none = s.state === "no-worker";
        if (none === (state.dataset.waiting === "worker")) return;
        var name = state.closest(".message").querySelector(".who").textContent;
        state.textContent = none ? "No worker is serving " + name + " right now" : "Waiting for a free slot…";
        state.dataset.waiting = none ? "worker" : "queue";
      });
    });
  });

  document.addEventListener("htmx:wsAfterMessage", function () { firstText(); badgesFollowAnswers(); countDown(); });
  document.addEventListener("DOMContentLoaded", function () { badgesFollowAnswers(); countDown(); });
  setInterval(countDown, 1000);
})();

// Saved prompts: "/" at the start of the composer opens a list of the member's prompts
// (webui/chat/saved_prompt_views.py), filtered as they type; arrows, Enter (or Tab) and
// Escape, or the mouse. A prompt with {{variables}} asks for them in a small dialog first.
// Everything is drawn with textContent: a prompt's words stay text.
(function () {
  "use strict";

  var list = null, prompts = [], shown = [], active = 0, dismissed = null, loading = null;

  function composer() { return document.getElementById("composer-input"); }

  function menuUrl() {
    var link = document.querySelector("[data-prompts-menu]");
    return link && link.dataset.promptsMenu;
  }

  // The "/word" before the caret, or null when the caret is not in one at the start.
  function query(input) {
    var match = /^\/([^\s/]*)$/.exec(input.value.slice(0, input.selectionStart));
    return match ? match[1] : null;
  }

  function load() {
    if (!loading) {
      loading = fetch(menuUrl(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { prompts: [] }; })
        .then(function (data) { prompts = data.prompts; return data; });
      // Fresh on the next "/": a prompt saved in another tab shows up.
      loading.finally(function () { setTimeout(function () { loading = null; }, 5000); });
    }
    return loading;
  }

  function close() {
    if (list) list.hidden = true;
    var input = composer();
    if (input) input.removeAttribute("aria-activedescendant");
  }

  function isOpen() { return list && !list.hidden; }

  function ensureList(input) {
    if (list && document.body.contains(list)) return list;
    list = document.createElement("ul");
    list.id = "prompt-menu";
    list.className = "prompt-menu";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Saved prompts");
    list.hidden = true;
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[data-prompt-index]");
      if (option) choose(shown[Number(option.dataset.promptIndex)]);
    });
    input.closest("form").appendChild(list);
    input.setAttribute("aria-controls", "prompt-menu");
    return list;
  }

  function draw(input, words) {
    var needle = words.toLowerCase();
    shown = prompts.filter(function (p) { return p.title.toLowerCase().indexOf(needle) !== -1; }).slice(0, 20);
    active = Math.min(active, Math.max(shown.length - 1, 0));
    var menu = ensureList(input);
    menu.textContent = "";
    shown.forEach(function (p, i) {
      var item = document.createElement("li");
      item.id = "prompt-option-" + i;
      item.className = "prompt-option";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      item.dataset.promptIndex = String(i);
      item.textContent = p.title;
      if (p.shared_by) {
        var by = document.createElement("span");
        by.className = "muted";
        by.textContent = " · " + p.shared_by;
        item.appendChild(by);
      }
      menu.appendChild(item);
    });
    if (!shown.length) {
      var none = document.createElement("li");
      none.className = "prompt-none muted";
      none.textContent = prompts.length ? "No saved prompt matches." : "No saved prompts yet: add them under Prompts.";
      menu.appendChild(none);
    }
    menu.hidden = false;
    if (shown.length) input.setAttribute("aria-activedescendant", "prompt-option-" + active);
    else input.removeAttribute("aria-activedescendant");
  }

  function update() {
    var input = composer();
    if (!input || !menuUrl()) return;
    var words = query(input);
    if (words === null) { dismissed = null; close(); return; }
    if (dismissed !== null && input.value.slice(0, input.selectionStart) === dismissed) return;
    dismissed = null;
    if (!isOpen()) active = 0;
    load().then(function () {
      if (query(input) === words && dismissed === null) draw(input, words);
    });
  }

  // Puts the text in place of the "/word", which ended at `end` when the prompt was chosen.
  function insert(text, end) {
    var input = composer();
    if (!input) return;
    var rest = input.value.slice(end);
    input.value = text + rest;
    input.focus();
    input.setSelectionRange(text.length, text.length);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function fill(parts, values) {
    return parts.map(function (part) {
      return "variable" in part ? values[part.variable] : part.text;
    }).join("");
  }

  function ask(prompt, end) {
    var dialog = document.createElement("dialog");
    dialog.className = "prompt-fill";
    dialog.setAttribute("aria-labelledby", "prompt-fill-title");
    var form = document.createElement("form");
    form.method = "dialog";
    var title = document.createElement("h2");
    title.id = "prompt-fill-title";
    title.textContent = prompt.title;
    form.appendChild(title);
    prompt.variables.forEach(function (name, i) {
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.htmlFor = "prompt-variable-" + i;
      label.textContent = name;
      var value = document.createElement("input");
      value.id = "prompt-variable-" + i;
      value.type = "text";
      value.dataset.variable = name;
      field.appendChild(label);
      field.appendChild(value);
      form.appendChild(field);
    });
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    [["cancel", "Cancel", "button"], ["insert", "Insert", "button primary"]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "submit";
      button.value = b[0];
      button.className = b[2];
      button.textContent = b[1];
      actions.appendChild(button);
    });
    form.appendChild(actions);
    dialog.appendChild(form);
    // Enter in a field inserts (the default button of a dialog form would be Cancel).
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") {
        event.preventDefault();
        dialog.close("insert");
      }
    });
    dialog.addEventListener("close", function () {
      var values = {};
      form.querySelectorAll("[data-variable]").forEach(function (v) { values[v.dataset.variable] = v.value; });
      dialog.remove();
      if (dialog.returnValue === "insert") insert(fill(prompt.parts, values), end);
      else { var input = composer(); if (input) input.focus(); }
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  function choose(prompt) {
    if (!prompt) return;
    var end = composer().selectionStart;
    close();
    if (prompt.variables.length) ask(prompt, end);
    else insert(fill(prompt.parts, {}), end);
  }

  function move(step) {
    if (!shown.length) return;
    active = (active + step + shown.length) % shown.length;
    list.querySelectorAll("[data-prompt-index]").forEach(function (item, i) {
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      if (i === active) item.scrollIntoView({ block: "nearest" });
    });
    composer().setAttribute("aria-activedescendant", "prompt-option-" + active);
  }

  // Captured before the composer's own keys (Enter sends, Escape stops an answer).
  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "composer-input" || !isOpen() || event.isComposing) return;
    var handled = true;
    if (event.key === "ArrowDown") move(1);
    else if (event.key === "ArrowUp") move(-1);
    else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      if (shown.length) choose(shown[active]);
      else { close(); handled = false; }
    } else if (event.key === "Escape") {
      dismissed = event.target.value.slice(0, event.target.selectionStart);
      close();
    } else handled = false;
    if (handled) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  document.addEventListener("input", function (event) { if (event.target.id === "composer-input") update(); });
  document.addEventListener("click", function (event) {
    if (event.target.id === "composer-input") update();
    else if (isOpen() && !list.contains(event.target)) close();
  });
  document.addEventListener("focusout", function (event) {
    if (event.target.id === "composer-input") close();
  });
})();
