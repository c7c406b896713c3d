// Progressive enhancement only: the pages work without it.
// Forms marked data-progress show a progress line while the upload and fingerprinting run;
// a file dropped on such a form goes into its first file input.
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
});
