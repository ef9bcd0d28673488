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
  document.addEventListener("homefire:page", function () { badgesFollowAnswers(); countDown(); });
  setInterval(countDown, 1000);
})();
