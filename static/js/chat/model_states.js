// The models' live states in the pickers and badges, asked for now and then.
(function () {
  "use strict";

  function layout() { return document.getElementById("layout"); }

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
