// Employer form: autosave the draft and submit only once. Progressive enhancement: without
// JavaScript the buttons save, move between sections and submit by plain form posts.
(function () {
  "use strict";
  var DELAY_MS = 1500;

  function setup(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var stopped = false;
    var current = Promise.resolve();  // saves run one after another, never two at once

    function say(key) {
      if (status) { status.textContent = status.getAttribute("data-" + key + "-text") || ""; }
    }

    function draft() {
      var body = new FormData(form);
      body.delete("action");
      return body;
    }

    function post() {
      if (stopped) { return Promise.resolve(); }
      say("saving");
      return fetch(url, {
        method: "POST",
        body: draft(),
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
      });
    }

    function save() {
      timer = null;
      current = current.then(post);
      return current;
    }

    function schedule() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, DELAY_MS);
    }

    // Save what is pending now; resolves when the server has it (or said no).
    function flush() {
      if (timer) { clearTimeout(timer); return save(); }
      return current;
    }

    form.addEventListener("change", schedule);
    form.addEventListener("input", function (event) {
      if (event.target.matches("textarea, input[type=text]")) { schedule(); }
    });

    // The language switcher reloads the page: the draft must be saved *before* the new page
    // is built, or it would show the question unanswered (and a later Next would clear it).
    // Capture phase on the document runs before the switcher's own submit-on-change.
    document.addEventListener("change", function (event) {
      var select = event.target.closest && event.target.closest("select[data-autosubmit]");
      if (!select) { return; }
      event.stopImmediatePropagation();
      flush().then(function () { select.form.submit(); });
    }, true);

    // Closing the tab: hand the pending draft to the browser to deliver.
    window.addEventListener("pagehide", function () {
      if (timer && !stopped) {
        clearTimeout(timer);
        timer = null;
        navigator.sendBeacon(url, draft());
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
