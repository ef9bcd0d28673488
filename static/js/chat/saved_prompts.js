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
