// Cascading region picker: turns <input data-region-picker> into province → regency → district → village
// selects loaded from /regions/<code>/children. Without JavaScript the plain code field still works.
(function () {
  "use strict";

  function levelOf(code) { return code ? code.split(".").length : 0; }

  function load(parent) {
    var url = parent ? "/regions/" + encodeURIComponent(parent) + "/children" : "/regions/children";
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; });
  }

  function setup(input) {
    var root = input.dataset.root || "";
    var maxLevel = parseInt(input.dataset.maxLevel || "4", 10);
    // Each dropdown is named by a visible label with its level ("Provinsi", ...: data-levels, from the page's
    // language); the group is named by the field's own label and carries its error and help text.
    var levels = (input.dataset.levels || "").split("|");
    var label = input.id ? document.querySelector("label[for='" + input.id + "']") : null;
    var box = document.createElement("div");
    box.className = "region-picker";
    box.setAttribute("role", "group");
    if (label) {
      if (!label.id) { label.id = input.id + "-label"; }
      box.setAttribute("aria-labelledby", label.id);
    }
    input.parentNode.insertBefore(box, input);
    input.type = "hidden";  // the selects write the code into it

    function addSelect(parent, selected) {
      var level = levelOf(parent);
      if (level >= maxLevel) { return; }
      load(parent).then(function (items) {
        if (!items.length) { return; }
        var wrap = document.createElement("div");
        wrap.className = "region-level";
        var select = document.createElement("select");
        select.className = "form-select form-select-sm" + (input.classList.contains("is-invalid") ? " is-invalid" : "");
        select.id = (input.id || input.name) + "-level-" + (level + 1);
        select.dataset.parent = parent;
        ["aria-invalid", "aria-describedby", "aria-required"].forEach(function (name) {
          if (input.hasAttribute(name)) { select.setAttribute(name, input.getAttribute(name)); }
        });
        var name = document.createElement("label");
        name.className = "form-label small mb-0";
        name.htmlFor = select.id;
        name.textContent = levels[level] || (label ? label.textContent : input.name);
        var blank = document.createElement("option");
        blank.value = ""; blank.textContent = "—";
        select.appendChild(blank);
        items.forEach(function (item) {
          var option = document.createElement("option");
          option.value = item.code; option.textContent = item.name + " (" + item.code + ")";
          if (selected && (selected === item.code || selected.indexOf(item.code + ".") === 0)) { option.selected = true; }
          select.appendChild(option);
        });
        wrap.appendChild(name);
        wrap.appendChild(select);
        box.appendChild(wrap);
        select.addEventListener("change", function () {
          while (wrap.nextSibling) { box.removeChild(wrap.nextSibling); }
          input.value = select.value || parent;
          if (select.value) { addSelect(select.value, null); }
        });
        if (select.value) { addSelect(select.value, selected); }
      });
    }

    addSelect(root, input.value || null);
  }

  document.querySelectorAll("input[data-region-picker]").forEach(setup);
})();
