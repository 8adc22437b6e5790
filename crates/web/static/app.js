// Progressive enhancement only: every form works without this file.
// Uploads show a progress bar and keep the page responsive; the server's answer (the page it
// redirects to, or the page explaining a refusal) replaces the current one when done.
(function () {
  "use strict";
  function enhance(form) {
    form.addEventListener("submit", function (ev) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files || input.files.length === 0 || !window.FormData) { return; }
      ev.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "上传进度");
      var label = document.createElement("span");
      label.className = "small";
      label.setAttribute("role", "status");
      label.textContent = "正在上传…";
      form.appendChild(bar); form.appendChild(label);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.floor(e.loaded * 100 / e.total);
          bar.value = pct;
          label.textContent = "已上传 " + pct + "%";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        document.title = doc.title;
        document.body.replaceWith(document.adoptNode(doc.body));
        enhanceAll();
      });
      xhr.addEventListener("error", function () {
        label.textContent = "上传中断，文件未保存，请检查网络后重新上传。";
        if (button) { button.disabled = false; }
      });
      xhr.send(new FormData(form));
    });
  }
  // A refused form comes back with an error summary at the top (the GOV.UK pattern): it takes
  // the focus, so screen readers announce it and the page scrolls to it; its link leads to the
  // field. The address goes back to the page's own (a form's `…/act` would send it again).
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    if (/\/act$/.test(window.location.pathname) && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname.replace(/\/act$/, ""));
    }
  }
  function enhanceAll() {
    var forms = document.querySelectorAll("form.upload");
    for (var i = 0; i < forms.length; i++) { enhance(forms[i]); }
    focusSummary();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhanceAll);
  } else {
    enhanceAll();
  }
})();
