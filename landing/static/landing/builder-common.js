/* Shared by the form and page builders: tiny DOM helpers and the mount step.
 * A builder keeps its JSON in the widget's textarea (which the server validates)
 * and rewrites it after every edit, so saving the admin form saves the builder. */
(function (window, document) {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "value") node.value = attrs[name];
      else if (name === "checked") node.checked = !!attrs[name];
      else if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function options(select, choices, selected) {
    choices.forEach(function (choice) {
      var option = el("option", { value: choice[0], text: choice[1] });
      if (choice[0] === selected) option.selected = true;
      select.appendChild(option);
    });
    return select;
  }

  function row(label, control, extraClass) {
    return el("label", { class: "lb-row " + (extraClass || "") }, [el("span", { text: label }), control]);
  }

  function parse(text) {
    try {
      var value = JSON.parse(text || "[]");
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  // Calls start(root, items, config, save) for every builder of this kind, once the page is parsed
  // (the admin loads widget scripts in <head>).
  function mount(kind, start) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () {
        mount(kind, start);
      });
      return;
    }
    var roots = document.querySelectorAll('.lb-builder[data-builder="' + kind + '"]');
    Array.prototype.forEach.call(roots, function (root) {
      var input = document.getElementById(root.getAttribute("data-input"));
      var config = JSON.parse(document.getElementById(root.getAttribute("data-config")).textContent);
      input.hidden = true;
      var save = function (items) {
        input.value = JSON.stringify(items);
      };
      start(root, parse(input.value), config, save);
    });
  }

  function sortable(list, onEnd) {
    // forceFallback: pointer events instead of native drag and drop, the same on mice, touch screens and automation.
    return window.Sortable.create(list, { handle: ".lb-handle", animation: 150, forceFallback: true, onEnd: onEnd });
  }

  window.lbBuilder = { el: el, options: options, row: row, mount: mount, sortable: sortable };
})(window, document);
