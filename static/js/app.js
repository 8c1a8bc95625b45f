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
})();
