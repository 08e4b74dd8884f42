// Copy buttons of converted queries (the rule page's Query section, /preview/). No inline script:
// the page's Content-Security-Policy allows scripts from the site only. Buttons stay hidden without
// JavaScript; the query is selectable text either way.
(function () {
  "use strict";

  function copied(button, label) {
    button.textContent = label;
    button.dataset.state = label === "Copied" ? "copied" : "failed";
    window.setTimeout(function () {
      button.textContent = "Copy";
      delete button.dataset.state;
    }, 2000);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-scratch";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }

  function copy(button) {
    var source = document.getElementById(button.dataset.copyFrom);
    if (!source) {
      return;
    }
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, "Copied"); },
        function () { copied(button, fallbackCopy(text) ? "Copied" : "Copy failed"); }
      );
    } else {
      copied(button, fallbackCopy(text) ? "Copied" : "Copy failed");
    }
  }

  document.querySelectorAll("button[data-copy-from]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
