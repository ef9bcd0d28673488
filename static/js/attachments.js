// Documents in the composer: files chosen with the 📎 input (input[name=files]) or dropped
// on the page are posted to the conversation (webui/chat/attachment_views.py), which
// answers with the panel of its files drawn again (#attachments); "#name" in the message
// lists the collections the member may use and links the one chosen. On the
// new-conversation page the first file or collection starts the conversation: the typed
// message is kept for the conversation's page. Everything is drawn with textContent.
(function () {
  "use strict";

  var DRAFT = "homefire:attach-draft";

  function input() { return document.querySelector("input.attach-input[name=files]"); }
  function composer() { return document.getElementById("composer-input"); }

  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function say(text) {
    var box = document.getElementById("composer-error");
    if (box) box.textContent = text;
  }

  function keepDraft() {
    var box = composer();
    if (box && box.value.trim()) sessionStorage.setItem(DRAFT, box.value);
  }

  // Posts `data` to `url`; the answer is the panel (HTML) or, from the new-conversation
  // page, where the conversation now is (JSON).
  function post(url, data) {
    var files = input();
    if (files) files.disabled = true;
    say("");
    document.body.classList.add("attach-busy");
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === 0) {
        return response.json().then(function (body) {
          if (body.location) { keepDraft(); window.location.assign(body.location); }
          else say((body.refused || ["That could not be attached."]).join(" "));
        });
      }
      if (response.status === 413) { say("That file is larger than this server takes."); return; }
      if (!response.ok) { say("That could not be attached (error " + response.status + ")."); return; }
      return response.text().then(function (html) {
        if (document.getElementById("attachments")) htmx.swap("#attachments", html, { swapStyle: "outerHTML" });
      });
    }).catch(function () {
      say("The server could not be reached: nothing was attached.");
    }).finally(function () {
      document.body.classList.remove("attach-busy");
      if (files) { files.disabled = false; files.value = ""; }
    });
  }

  function withModel(data) {
    var model = document.getElementById("model-select");
    if (model && !document.getElementById("attachments")) data.append("model", model.value);
    return data;
  }

  function upload(fileList) {
    var files = input();
    if (!files || !fileList || !fileList.length) return;
    var data = new FormData();
    Array.prototype.forEach.call(fileList, function (file) { data.append("files", file); });
    post(files.dataset.uploadUrl, withModel(data));
  }

  document.addEventListener("change", function (event) {
    if (event.target === input()) upload(event.target.files);
  });

  // Drag and drop: anywhere on the page's main column, while it has a composer to attach to.
  function carriesFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function dropZone() { return input() && document.getElementById("main"); }

  document.addEventListener("dragover", function (event) {
    var zone = dropZone();
    if (!zone || !carriesFiles(event) || !zone.contains(event.target)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropZone();
    if (zone && (!event.relatedTarget || !zone.contains(event.relatedTarget))) zone.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var zone = dropZone();
    if (!zone || !carriesFiles(event) || !zone.contains(event.target)) return;
    event.preventDefault();
    zone.classList.remove("drop-target");
    upload(event.dataTransfer.files);
  });

  // The message typed before the first file started the conversation comes back.
  document.addEventListener("DOMContentLoaded", function () {
    var draft = sessionStorage.getItem(DRAFT);
    var box = composer();
    sessionStorage.removeItem(DRAFT);
    if (draft && box && !box.value) box.value = draft;
  });

  // "#name": the collections the member may use, filtered as they type.
  var list = null, collections = [], shown = [], active = 0, dismissed = null, loading = null;

  function menuUrl() { var files = input(); return files && files.dataset.collectionsMenu; }

  // The "#word" before the caret: [start of the "#", the word], or null.
  function query(box) {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|\s)#([^\s#]*)$/.exec(before);
    return match ? [before.length - match[2].length - 1, match[2]] : null;
  }

  function load() {
    if (!loading) {
      loading = fetch(menuUrl(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { collections: [] }; })
        .then(function (data) { collections = data.collections; return data; });
      loading.finally(function () { setTimeout(function () { loading = null; }, 5000); });
    }
    return loading;
  }

  function isOpen() { return list && !list.hidden; }

  function close() {
    if (list) list.hidden = true;
    var box = composer();
    if (box) box.removeAttribute("aria-activedescendant");
  }

  function ensureList(box) {
    if (list && document.body.contains(list)) return list;
    list = document.createElement("ul");
    list.id = "collection-menu";
    list.className = "prompt-menu collection-menu";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Collections");
    list.hidden = true;
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[data-collection-index]");
      if (option) choose(shown[Number(option.dataset.collectionIndex)]);
    });
    box.closest("form").appendChild(list);
    return list;
  }

  function draw(box, word) {
    var needle = word.toLowerCase();
    shown = collections.filter(function (c) { return c.name.toLowerCase().indexOf(needle) !== -1; }).slice(0, 20);
    active = Math.min(active, Math.max(shown.length - 1, 0));
    var menu = ensureList(box);
    menu.textContent = "";
    shown.forEach(function (c, i) {
      var item = document.createElement("li");
      item.id = "collection-option-" + i;
      item.className = "prompt-option";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      item.dataset.collectionIndex = String(i);
      item.textContent = "#" + c.name;
      var about = document.createElement("span");
      about.className = "muted";
      about.textContent = " · " + c.files + (c.files === 1 ? " file" : " files") + (c.shared_by ? " · " + c.shared_by : "");
      item.appendChild(about);
      menu.appendChild(item);
    });
    if (!shown.length) {
      var none = document.createElement("li");
      none.className = "prompt-none muted";
      none.textContent = collections.length ? "No collection matches." : "No collections yet: make one under Collections.";
      menu.appendChild(none);
    }
    menu.hidden = false;
    box.setAttribute("aria-controls", "collection-menu");
    if (shown.length) box.setAttribute("aria-activedescendant", "collection-option-" + active);
    else box.removeAttribute("aria-activedescendant");
  }

  function update() {
    var box = composer();
    if (!box || !menuUrl()) return;
    var found = query(box);
    if (found === null) { dismissed = null; close(); return; }
    if (dismissed !== null && box.value.slice(0, box.selectionStart) === dismissed) return;
    dismissed = null;
    if (!isOpen()) active = 0;
    load().then(function () {
      var now = query(box);
      if (now && now[1] === found[1] && dismissed === null) draw(box, found[1]);
    });
  }

  // Takes the "#word" out of the message and links the collection.
  function choose(collection) {
    var box = composer();
    var found = box && query(box);
    close();
    if (!collection || !found) return;
    var end = box.selectionStart;
    box.value = box.value.slice(0, found[0]) + box.value.slice(end);
    box.setSelectionRange(found[0], found[0]);
    box.focus();
    var data = new FormData();
    data.append("collection", String(collection.id));
    post(input().dataset.linkUrl, withModel(data));
  }

  function move(step) {
    if (!shown.length) return;
    active = (active + step + shown.length) % shown.length;
    list.querySelectorAll("[data-collection-index]").forEach(function (item, i) {
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      if (i === active) item.scrollIntoView({ block: "nearest" });
    });
    composer().setAttribute("aria-activedescendant", "collection-option-" + active);
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
