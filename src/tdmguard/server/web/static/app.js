// Progressive enhancement only: the pages work without it.
// Forms marked data-progress show a progress line while the upload runs; a file dropped on
// such a form goes into its first file input. An import's page (section data-job) polls the
// job's progress (same origin) and reloads when the job has finished.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var p = form.querySelector(".progress");
      if (p) { p.hidden = false; }
    });
    var input = form.querySelector("input[type=file]");
    form.addEventListener("dragover", function (e) { e.preventDefault(); });
    form.addEventListener("drop", function (e) {
      if (!input || !e.dataTransfer || !e.dataTransfer.files.length) { return; }
      e.preventDefault();
      input.files = e.dataTransfer.files;
    });
  });
  var job = document.querySelector("section[data-job]");
  if (job && job.dataset.state !== "done" && job.dataset.state !== "failed") {
    var bar = document.getElementById("job-bar");
    var count = document.getElementById("job-count");
    var poll = function () {
      fetch(job.dataset.job, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (bar) { bar.max = Math.max(s.total, 1); bar.value = s.done; }
          if (count) {
            count.textContent = s.done + " of " + s.total +
              (s.state === "storing" ? " (storing the works)" : "");
          }
          if (s.state === "done" || s.state === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 400);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 200);
  }
});
