// Small behaviours without inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // A page opened to be printed (the referral letter, after its print was recorded) prints itself.
  if (document.querySelector("[data-autoprint]")) { window.addEventListener("load", function () { window.print(); }); }
  // Copy a text field's content (the status message for the complainant) to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value); } else { document.execCommand("copy"); }
    });
  });
  // A form sent back with errors: its summary takes the focus (a screen reader reads it), and each of its links
  // moves the focus to the field it names, not only the scroll position.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  document.querySelectorAll("[data-error-summary] a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target && target.type === "hidden") {  // a region picker: its first dropdown
        var picker = target.previousElementSibling;
        target = picker && picker.querySelector("select");
      }
      if (!target) { return; }
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  });
})();
