// The catalog's own script: small, optional conveniences on server-rendered pages. Every page works
// without it. No inline script anywhere: the Content-Security-Policy allows scripts from the site only.
//  - Copy buttons (button[data-copy-code] for a highlighted YAML block, without Pygments' line numbers;
//    button[data-copy-from] for a converted query on the rule page and /preview/).
//  - A page reached at a fragment naming an element[data-focus-on-arrival] (the /match/ results) moves the
//    focus there, so the keyboard and a screen reader start at what the form produced.
//  - The rule list's "Filters" disclosure (details[data-narrow-closed]): closed on phones, where it
//    sits above the results; always open on wider screens, where it is the sidebar.
(function () {
  "use strict";

  var NARROW = window.matchMedia("(max-width: 900px)");

  function codeText(id) {
    var block = document.getElementById(id);
    if (!block) {
      return null;
    }
    var copy = block.cloneNode(true);
    copy.querySelectorAll(".linenos").forEach(function (number) { number.remove(); });
    return copy.textContent;
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-scratch";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    document.body.removeChild(area);
    return done;
  }

  function report(button, done) {
    var status = button.parentElement.querySelector(".copy-status");
    button.dataset.state = done ? "copied" : "failed";
    button.textContent = done ? "Copied" : "Copy failed";
    if (status) {
      status.textContent = done ? "The YAML is on the clipboard." : "Copying failed: select the text instead.";
    }
    window.setTimeout(function () {
      button.textContent = button.dataset.label;
      delete button.dataset.state;
      if (status) {
        status.textContent = "";
      }
    }, 2500);
  }

  function copy(button) {
    var text = codeText(button.dataset.copyCode || button.dataset.copyFrom);
    if (text === null) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { report(button, true); },
        function () { report(button, fallbackCopy(text)); }
      );
    } else {
      report(button, fallbackCopy(text));
    }
  }

  document.querySelectorAll("button[data-copy-code], button[data-copy-from]").forEach(function (button) {
    button.dataset.label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });

  var arrived = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (arrived && arrived.hasAttribute("data-focus-on-arrival")) {
    arrived.focus();
  }

  // On phones the navigation is one line that scrolls sideways: bring the current page's link into view.
  var current = document.querySelector(".main-nav a[aria-current='page']");
  var navList = current && current.closest("ul");
  if (navList && navList.scrollWidth > navList.clientWidth) {
    var hiddenBy = current.getBoundingClientRect().right - navList.getBoundingClientRect().right;
    if (hiddenBy > -32) {  // off the line's end, or under its fading edge
      navList.scrollLeft += hiddenBy + navList.clientWidth / 3;
    }
  }

  var panels = document.querySelectorAll("details[data-narrow-closed]");
  function fitPanels() {
    panels.forEach(function (panel) { panel.open = !NARROW.matches; });
  }
  if (panels.length) {
    fitPanels();
    NARROW.addEventListener("change", fitPanels);
  }
})();
