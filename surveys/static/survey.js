// Employer form: autosave the draft and submit only once. Progressive enhancement: without
// JavaScript the buttons save, move between sections and submit by plain form posts.
(function () {
  "use strict";
  var DELAY_MS = 1500;

  function setup(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var inFlight = false;
    var pending = false;
    var stopped = false;

    function say(key) {
      if (status) { status.textContent = status.getAttribute("data-" + key + "-text") || ""; }
    }

    function save() {
      if (stopped) { return; }
      if (inFlight) { pending = true; return; }
      inFlight = true;
      say("saving");
      var body = new FormData(form);
      body.delete("action");
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (response.ok) {
          say("saved");
        } else {
          // 409: submitted in another tab; 410: closed; 422: a value the server refuses
          // (the buttons will show the message beside the field). Stop trying quietly.
          say("failed");
          if (response.status === 409 || response.status === 410) { stopped = true; }
        }
      }).catch(function () {
        say("failed");
      }).then(function () {
        inFlight = false;
        if (pending) { pending = false; schedule(); }
      });
    }

    function schedule() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, DELAY_MS);
    }

    form.addEventListener("change", schedule);
    form.addEventListener("input", function (event) {
      if (event.target.matches("textarea, input[type=text]")) { schedule(); }
    });

    // Leave no change behind: a language switch or closing the tab flushes the draft.
    window.addEventListener("pagehide", function () {
      if (timer && !stopped) {
        clearTimeout(timer);
        var body = new FormData(form);
        body.delete("action");
        navigator.sendBeacon(url, body);
      }
    });

    // Back/forward cache: a page restored after a submit must be usable again.
    window.addEventListener("pageshow", function () {
      form.removeAttribute("data-submitting");
      form.querySelectorAll("input[data-submit-copy]").forEach(function (copy) { copy.remove(); });
      form.querySelectorAll("button[data-submit-once]").forEach(function (b) { b.disabled = false; });
    });

    form.addEventListener("submit", function (event) {
      if (timer) { clearTimeout(timer); timer = null; }
      var button = event.submitter;
      if (form.getAttribute("data-submitting") === "yes") {
        event.preventDefault();  // a double click sends one POST
        return;
      }
      form.setAttribute("data-submitting", "yes");
      if (button && button.hasAttribute("data-submit-once")) {
        // keep the button's name/value in the POST, then disable it
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = button.name;
        hidden.value = button.value;
        hidden.setAttribute("data-submit-copy", "");
        form.appendChild(hidden);
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosave-url]").forEach(setup);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
