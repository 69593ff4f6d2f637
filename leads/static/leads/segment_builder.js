/* The segment condition builder: rows of field / operator / value, one level of groups, and a live count.
 * The definition lives in the widget's textarea (validated by the server when saved); every edit
 * rewrites it and asks the admin's count endpoint, at most once per pause in typing. */
(function (window, document) {
  "use strict";

  var DEBOUNCE_MS = 400;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (name === "text") node.textContent = value;
      else if (name === "value") node.value = value;
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function select(choices, selected, attrs) {
    var node = el("select", attrs);
    choices.forEach(function (choice) {
      var option = el("option", { value: String(choice[0]), text: choice[1] });
      if (Array.isArray(selected) ? selected.indexOf(choice[0]) >= 0 : String(choice[0]) === String(selected)) {
        option.selected = true;
      }
      node.appendChild(option);
    });
    return node;
  }

  function parse(text) {
    try {
      var value = JSON.parse(text || "[]");
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  function Builder(root, input, config) {
    this.root = root;
    this.input = input;
    this.config = config;
    this.text = config.text;
    this.fields = {};
    config.fields.forEach(function (field) {
      this.fields[field.name] = field;
    }, this);
    this.timer = null;
    this.request = 0;
  }

  Builder.prototype.start = function () {
    this.input.hidden = true;
    this.list = el("div", { class: "sb-rows" });
    this.count = el("p", { class: "sb-count", "aria-live": "polite" });
    this.root.appendChild(this.list);
    this.root.appendChild(this.toolbar(this.list, true));
    this.root.appendChild(this.count);
    parse(this.input.value).forEach(function (item) {
      this.list.appendChild(item.conditions ? this.group(item) : this.row(item));
    }, this);
    var self = this;
    document.querySelectorAll('input[name="match"]').forEach(function (radio) {
      radio.addEventListener("change", function () { self.changed(); });
    });
    this.changed();
  };

  Builder.prototype.toolbar = function (list, withGroup) {
    var self = this;
    var add = el("button", { type: "button", class: "button sb-add", text: this.text.addCondition });
    add.addEventListener("click", function () {
      list.appendChild(self.row({}));
      self.changed();
    });
    var bar = el("div", { class: "sb-toolbar" }, [add]);
    if (withGroup) {
      var group = el("button", { type: "button", class: "button sb-add-group", text: this.text.addGroup });
      group.addEventListener("click", function () {
        list.appendChild(self.group({ match: "any", conditions: [{}] }));
        self.changed();
      });
      bar.appendChild(group);
    }
    return bar;
  };

  Builder.prototype.removeButton = function (node) {
    var self = this;
    var button = el("button", { type: "button", class: "button sb-remove", text: this.text.remove });
    button.addEventListener("click", function () {
      node.remove();
      self.changed();
    });
    return button;
  };

  Builder.prototype.group = function (item) {
    var self = this;
    var box = el("div", { class: "sb-group" });
    var match = select([["all", this.text.all], ["any", this.text.any]], item.match || "all", { class: "sb-match" });
    match.addEventListener("change", function () { self.changed(); });
    var rows = el("div", { class: "sb-rows" });
    box.appendChild(el("div", { class: "sb-group-head" }, [this.text.match + " ", match, this.removeButton(box)]));
    box.appendChild(rows);
    box.appendChild(this.toolbar(rows, false));
    (item.conditions || []).forEach(function (condition) {
      rows.appendChild(self.row(condition));
    });
    return box;
  };

  Builder.prototype.fieldSelect = function (selected) {
    var node = el("select", { class: "sb-field" });
    var groups = this.config.groups;
    Object.keys(groups).forEach(function (key) {
      var fields = this.config.fields.filter(function (field) { return field.group === key; });
      if (!fields.length) return;
      var optgroup = el("optgroup", { label: groups[key] });
      fields.forEach(function (field) {
        var option = el("option", { value: field.name, text: field.label });
        option.selected = field.name === selected;
        optgroup.appendChild(option);
      });
      node.appendChild(optgroup);
    }, this);
    return node;
  };

  Builder.prototype.row = function (condition) {
    var self = this;
    var node = el("div", { class: "sb-row" });
    var name = this.fields[condition.field] ? condition.field : this.config.fields[0].name;
    var fieldSelect = this.fieldSelect(name);
    node.appendChild(fieldSelect);
    node.appendChild(el("span", { class: "sb-slot" }));
    node.appendChild(this.removeButton(node));
    var fill = function (value) {
      var field = self.fields[fieldSelect.value];
      node.replaceChild(self.controls(field, value), node.querySelector(".sb-slot"));
    };
    fieldSelect.addEventListener("change", function () {
      fill({});
      self.changed();
    });
    fill(condition);
    return node;
  };

  Builder.prototype.controls = function (field, condition) {
    var self = this;
    var slot = el("span", { class: "sb-slot" });
    var op = select(field.ops, condition.op || field.ops[0][0], { class: "sb-op" });
    slot.appendChild(op);
    var value = el("span", { class: "sb-value" });
    slot.appendChild(value);
    var draw = function (current) {
      value.textContent = "";
      if (op.value !== "is_empty" && op.value !== "is_not_empty") value.appendChild(self.valueInput(field, current));
      if (field.days) {
        var days = el("input", { type: "number", min: "1", class: "sb-days", placeholder: self.text.days,
                                 title: self.text.days, value: condition.days || "" });
        value.appendChild(days);
      }
    };
    op.addEventListener("change", function () {
      draw(self.readValue(value, field));
    });
    slot.addEventListener("input", function () { self.changed(); });
    slot.addEventListener("change", function () { self.changed(); });
    draw(condition.value);
    return slot;
  };

  Builder.prototype.valueInput = function (field, current) {
    var kind = field.kind;
    if (kind === "choice") return select(field.choices, current || [], { multiple: "multiple", class: "sb-input" });
    if (kind === "bool") return select([["true", this.text.yes], ["false", this.text.no]], String(current), { class: "sb-input" });
    if (kind === "tag" || kind === "list") return select(field.options, current, { class: "sb-input" });
    if (kind === "email_event" || kind === "form_event") {
      return select([["", this.text.any_object]].concat(field.options), current == null ? "" : current, { class: "sb-input" });
    }
    var numeric = kind === "number" || kind === "date" || kind === "unopened";
    return el("input", { type: numeric ? "number" : "text", class: "sb-input", value: current == null ? "" : current });
  };

  Builder.prototype.readValue = function (slot, field) {
    var input = slot.querySelector(".sb-input");
    if (!input) return null;
    var kind = field.kind;
    if (kind === "choice") {
      return Array.prototype.filter.call(input.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    }
    if (kind === "bool") return input.value === "true";
    if (kind === "email_event" || kind === "form_event") return input.value === "" ? null : Number(input.value);
    if (kind === "tag" || kind === "list") return input.value === "" ? null : Number(input.value);
    if (kind === "number" || kind === "date" || kind === "unopened") return input.value === "" ? null : Number(input.value);
    return input.value;
  };

  Builder.prototype.readRow = function (node) {
    var field = this.fields[node.querySelector(".sb-field").value];
    var condition = { field: field.name, op: node.querySelector(".sb-op").value,
                      value: this.readValue(node.querySelector(".sb-value"), field) };
    var days = node.querySelector(".sb-days");
    if (days && days.value !== "") condition.days = Number(days.value);
    return condition;
  };

  Builder.prototype.read = function () {
    var self = this;
    return Array.prototype.map.call(this.list.children, function (node) {
      if (!node.classList.contains("sb-group")) return self.readRow(node);
      var rows = node.querySelector(".sb-rows").children;
      return { match: node.querySelector(".sb-match").value,
               conditions: Array.prototype.map.call(rows, function (row) { return self.readRow(row); }) };
    });
  };

  Builder.prototype.changed = function () {
    var conditions = this.read();
    this.input.value = JSON.stringify(conditions);
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.refreshCount(conditions); }, DEBOUNCE_MS);
  };

  Builder.prototype.refreshCount = function (conditions) {
    var self = this;
    var checked = document.querySelector('input[name="match"]:checked');
    var token = document.querySelector('input[name="csrfmiddlewaretoken"]');
    var request = ++this.request;
    this.count.className = "sb-count";
    this.count.textContent = this.text.counting;
    window.fetch(this.config.countUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ match: checked ? checked.value : "all", conditions: conditions })
    }).then(function (response) {
      return response.json();
    }).then(function (answer) {
      if (request !== self.request) return; // a later edit's answer is on its way
      self.show(answer);
    }).catch(function () {
      if (request === self.request) self.count.textContent = self.text.failed;
    });
  };

  Builder.prototype.show = function (answer) {
    this.count.textContent = "";
    if (answer.errors) {
      this.count.className = "sb-count errornote";
      answer.errors.forEach(function (problem) { this.count.appendChild(el("span", { text: problem })); }, this);
      return;
    }
    this.count.textContent = this.text.count.replace("%(count)s", answer.count.toLocaleString());
  };

  function mount() {
    document.querySelectorAll(".sb-builder").forEach(function (root) {
      var input = document.getElementById(root.getAttribute("data-input"));
      var config = JSON.parse(document.getElementById(root.getAttribute("data-config")).textContent);
      new Builder(root, input, config).start();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})(window, document);
