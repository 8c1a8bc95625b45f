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
    var box = document.createElement("div");
    box.className = "region-picker";
    input.parentNode.insertBefore(box, input);
    input.type = "hidden";  // the selects write the code into it

    function addSelect(parent, selected) {
      if (levelOf(parent) >= maxLevel) { return; }
      load(parent).then(function (items) {
        if (!items.length) { return; }
        var select = document.createElement("select");
        select.className = "form-select form-select-sm";
        select.dataset.parent = parent;
        select.setAttribute("aria-label", input.getAttribute("aria-label") || input.name);
        var blank = document.createElement("option");
        blank.value = ""; blank.textContent = "—";
        select.appendChild(blank);
        items.forEach(function (item) {
          var option = document.createElement("option");
          option.value = item.code; option.textContent = item.name + " (" + item.code + ")";
          if (selected && (selected === item.code || selected.indexOf(item.code + ".") === 0)) { option.selected = true; }
          select.appendChild(option);
        });
        box.appendChild(select);
        select.addEventListener("change", function () {
          while (select.nextSibling) { box.removeChild(select.nextSibling); }
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
