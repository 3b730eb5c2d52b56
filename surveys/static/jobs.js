// Job progress: poll the job's JSON status, update the line and the bar, and reload the
// page once the job has finished (the server then shows its result). Without JavaScript
// the page refreshes itself (a <noscript> meta refresh).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-job-status]").forEach(function (box) {
    var url = box.getAttribute("data-job-status");
    var line = box.querySelector(".job-state");
    var bar = box.querySelector("progress");
    var waiting = box.querySelector("[data-job-waiting]");
    var delay = 700;
    function show(status) {
      line.textContent = status.label;
      if (status.percent === null) {
        bar.removeAttribute("value");
        bar.textContent = "";
      } else {
        bar.value = status.percent;
        bar.textContent = status.percent + "%";
      }
      if (waiting) { waiting.hidden = !status.waiting; }
    }
    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (status) {
          show(status);
          if (status.finished) {
            window.location.reload();
            return;
          }
          delay = Math.min(delay * 1.25, 4000);
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          delay = Math.min(delay * 2, 15000);
          window.setTimeout(poll, delay);
        });
    }
    window.setTimeout(poll, delay);
  });
});
