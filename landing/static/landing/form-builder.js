/* The form builder: a marketer adds, edits, removes and reorders (drag and drop) the fields of a form.
 * It writes Form.fields as the JSON list landing/definitions.py validates:
 * [{key, type, label, placeholder, help, required, maps_to, options, max_length, default, wording}] */
(function (window) {
  "use strict";

  var b = window.lbBuilder;
  var CHOICE = ["select", "radio", "checkboxes"];
  var LENGTH = ["text", "email", "tel", "textarea"];
  var RESERVED = ["website", "csrfmiddlewaretoken", "embed", "vid", "page", "ref"];

  b.mount("form", function (root, loaded, config, save) {
    var t = config.text;
    var state = loaded.map(function (field) {
      return Object.assign(blank(field.type || "text"), field, { locked: !!field.key });
    });
    var list = b.el("ol", { class: "lb-list", "data-role": "fields" });
    var typeSelect = b.options(b.el("select", { "data-role": "new-type", "aria-label": t.type }), config.types, "text");
    var add = b.el("button", { type: "button", class: "button", "data-role": "add-field", text: t.add });
    root.appendChild(list);
    root.appendChild(b.el("div", { class: "lb-toolbar" }, [typeSelect, add]));

    add.addEventListener("click", function () {
      state.push(blank(typeSelect.value));
      render();
      list.lastChild.querySelector("[data-prop=label]").focus();
    });
    b.sortable(list, function (event) {
      state.splice(event.newIndex, 0, state.splice(event.oldIndex, 1)[0]);
      render();
    });
    render();

    function blank(type) {
      var field = { key: "", type: type, label: "", placeholder: "", help: "", required: false, maps_to: "" };
      return Object.assign(field, { options: [], max_length: null, default: "", wording: "", locked: false });
    }

    function render() {
      assignKeys();
      list.textContent = "";
      state.forEach(function (field, index) {
        list.appendChild(card(field, index));
      });
      save(state.map(serialise));
    }

    function changed() {
      assignKeys();
      Array.prototype.forEach.call(list.children, function (item, index) {
        item.querySelector(".lb-key").textContent = state[index].key;
        item.querySelector(".lb-summary").textContent = state[index].label || t.untitled;
      });
      save(state.map(serialise));
    }

    function card(field, index) {
      var item = b.el("li", { class: "lb-item", "data-type": field.type }, [
        b.el("div", { class: "lb-item-head" }, [
          b.el("span", { class: "lb-handle", title: t.drag, text: "⋮⋮" }),
          b.el("strong", { class: "lb-summary", text: field.label || t.untitled }),
          b.el("code", { class: "lb-key", text: field.key }),
          removeButton(index),
        ]),
      ]);
      var body = b.el("div", { class: "lb-item-body" });
      body.appendChild(b.row(t.type, typeControl(field)));
      inputs(field).forEach(function (control) {
        body.appendChild(control);
      });
      item.appendChild(body);
      return item;
    }

    function removeButton(index) {
      var button = b.el("button", { type: "button", class: "lb-remove", "data-role": "remove", title: t.remove, text: "×" });
      button.addEventListener("click", function () {
        state.splice(index, 1);
        render();
      });
      return button;
    }

    function typeControl(field) {
      var select = b.options(b.el("select", { "data-prop": "type" }), config.types, field.type);
      select.addEventListener("change", function () {
        field.type = select.value;
        if (field.type === "consent") Object.assign(field, { maps_to: "", default: "" });
        render();
      });
      return select;
    }

    function inputs(field) {
      var type = field.type;
      var rows = [];
      if (type !== "hidden") rows.push(b.row(t.label, text(field, "label")));
      if (type === "hidden") rows.push(b.row(t.label_hidden, text(field, "label")));
      if (["text", "email", "tel", "textarea", "select"].indexOf(type) >= 0) rows.push(b.row(t.placeholder, text(field, "placeholder")));
      if (type !== "hidden") rows.push(b.row(t.help, text(field, "help")));
      if (type !== "hidden") rows.push(b.row(t.required, checkbox(field, "required"), "lb-inline"));
      if (CHOICE.indexOf(type) >= 0) rows.push(b.row(t.options, lines(field)));
      if (LENGTH.indexOf(type) >= 0) rows.push(b.row(t.max_length, number(field)));
      if (type === "consent") rows.push(b.row(t.wording, text(field, "wording", true)));
      if (type !== "consent") rows.push(b.row(t.maps_to, mapsTo(field)));
      if (type === "hidden") rows.push(b.row(t.default, hiddenDefault(field)));
      return rows;
    }

    function text(field, prop, multiline) {
      var input = b.el(multiline ? "textarea" : "input", { "data-prop": prop, value: field[prop] || "", rows: multiline ? 3 : null });
      input.addEventListener("input", function () {
        field[prop] = input.value;
        changed();
      });
      return input;
    }

    function checkbox(field, prop) {
      var input = b.el("input", { type: "checkbox", "data-prop": prop, checked: field[prop] });
      input.addEventListener("change", function () {
        field[prop] = input.checked;
        changed();
      });
      return input;
    }

    function lines(field) {
      var input = b.el("textarea", { "data-prop": "options", rows: 4, placeholder: t.options_hint, value: (field.options || []).join("\n") });
      input.addEventListener("input", function () {
        field.options = input.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
        changed();
      });
      return input;
    }

    function number(field) {
      var input = b.el("input", { type: "number", min: 1, max: 5000, "data-prop": "max_length", value: field.max_length || "" });
      input.addEventListener("input", function () {
        field.max_length = input.value ? parseInt(input.value, 10) : null;
        changed();
      });
      return input;
    }

    function mapsTo(field) {
      var select = b.options(b.el("select", { "data-prop": "maps_to" }), config.maps_to, field.maps_to || "");
      select.addEventListener("change", function () {
        field.maps_to = select.value;
        changed();
      });
      return select;
    }

    function hiddenDefault(field) {
      var tokens = config.hidden_defaults;
      var isToken = tokens.indexOf(field.default) >= 0;
      var choices = [["", t.fixed_value]].concat(tokens.map(function (token) { return [token, token]; }));
      var select = b.options(b.el("select", { "data-prop": "default-source" }), choices, isToken ? field.default : "");
      var input = b.el("input", { "data-prop": "default", value: isToken ? "" : field.default || "", hidden: isToken ? "hidden" : null });
      select.addEventListener("change", function () {
        field.default = select.value || input.value;
        input.hidden = !!select.value;
        changed();
      });
      input.addEventListener("input", function () {
        field.default = input.value;
        changed();
      });
      return b.el("span", { class: "lb-default" }, [select, input]);
    }

    // Keys are what a submission's values are stored under: derived from maps_to or the label, then kept.
    function assignKeys() {
      var used = {};
      state.forEach(function (field) {
        if (field.locked && field.key) used[field.key] = true;
      });
      state.forEach(function (field, index) {
        if (field.locked && field.key) return;
        var base = slug(field.maps_to ? field.maps_to.replace(/^custom:/, "") : field.label) || field.type + "_" + (index + 1);
        if (!/^[a-z]/.test(base)) base = "f_" + base;
        if (RESERVED.indexOf(base) >= 0 || config.hidden_defaults.indexOf(base) >= 0) base += "_field";
        base = base.slice(0, 44);
        var key = base;
        for (var n = 2; used[key]; n++) key = base + "_" + n;
        used[key] = true;
        field.key = key;
      });
    }

    function slug(text) {
      return String(text || "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    }

    function serialise(field) {
      var choice = CHOICE.indexOf(field.type) >= 0;
      return {
        key: field.key,
        type: field.type,
        label: field.label || "",
        placeholder: field.placeholder || "",
        help: field.help || "",
        required: field.type === "hidden" ? false : !!field.required,
        maps_to: field.type === "consent" ? "" : field.maps_to || "",
        options: choice ? field.options || [] : [],
        max_length: LENGTH.indexOf(field.type) >= 0 ? field.max_length || null : null,
        default: field.type === "hidden" ? field.default || "" : "",
        wording: field.type === "consent" ? field.wording || "" : "",
      };
    }
  });
})(window);
