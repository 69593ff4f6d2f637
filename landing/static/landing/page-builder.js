/* The landing-page builder: blocks added, edited, removed and reordered (drag and drop).
 * It writes LandingPage.draft_blocks; landing/builder.py validates every save. The block
 * types and their properties come from the server (config.types), so the two never drift. */
(function (window) {
  "use strict";

  var b = window.lbBuilder;

  b.mount("page", function (root, loaded, config, save) {
    var t = config.text;
    var state = loaded.filter(function (block) { return block && config.types[block.type]; });
    var list = b.el("ol", { class: "lb-list", "data-role": "blocks" });
    var addable = Object.keys(config.types).filter(function (type) { return type !== "html" || config.html_allowed; });
    var typeSelect = b.options(
      b.el("select", { "data-role": "new-type", "aria-label": t.type }),
      addable.map(function (type) { return [type, config.type_labels[type] || type]; }),
      "hero"
    );
    var add = b.el("button", { type: "button", class: "button", "data-role": "add-block", text: t.add });
    root.appendChild(list);
    root.appendChild(b.el("div", { class: "lb-toolbar" }, [typeSelect, add]));

    add.addEventListener("click", function () {
      state.push({ type: typeSelect.value });
      render();
    });
    b.sortable(list, function (event) {
      state.splice(event.newIndex, 0, state.splice(event.oldIndex, 1)[0]);
      render();
    });
    render();

    function render() {
      list.textContent = "";
      state.forEach(function (block, index) {
        list.appendChild(card(block, index));
      });
      save(state.map(serialise));
    }

    function changed() {
      save(state.map(serialise));
    }

    function card(block, index) {
      var locked = block.type === "html" && !config.html_allowed;
      var body = b.el("div", { class: "lb-item-body" });
      config.types[block.type].forEach(function (prop) {
        var label = (config.prop_labels[prop[0]] || prop[0]) + (prop[2] ? " *" : "");
        var control = input(block, prop[0], prop[1], prop[3]);
        if (locked) control.disabled = true;
        body.appendChild(b.row(label, control));
      });
      if (locked) body.appendChild(b.el("p", { class: "help", text: t.html_locked }));
      return b.el("li", { class: "lb-item", "data-type": block.type }, [
        b.el("div", { class: "lb-item-head" }, [
          b.el("span", { class: "lb-handle", title: t.drag, text: "⋮⋮" }),
          b.el("strong", { class: "lb-summary", text: config.type_labels[block.type] || block.type }),
          removeButton(index),
        ]),
        body,
      ]);
    }

    function removeButton(index) {
      var button = b.el("button", { type: "button", class: "lb-remove", "data-role": "remove", title: t.remove, text: "×" });
      button.addEventListener("click", function () {
        state.splice(index, 1);
        render();
      });
      return button;
    }

    function input(block, name, kind, itemNames) {
      if (kind === "slug") return formSelect(block, name);
      if (kind === "items") return itemsInput(block, name, itemNames);
      var multiline = kind === "text" || kind === "html";
      var control = b.el(multiline ? "textarea" : "input", {
        "data-prop": name,
        rows: multiline ? (kind === "html" ? 8 : 4) : null,
        class: kind === "html" ? "lb-code" : null,
        placeholder: kind === "url" ? "https://… or /path" : null,
        value: block[name] || "",
      });
      control.addEventListener("input", function () {
        block[name] = control.value;
        changed();
      });
      return control;
    }

    function formSelect(block, name) {
      var choices = [["", t.choose_form]].concat(config.forms);
      var select = b.options(b.el("select", { "data-prop": name }), choices, block[name] || "");
      select.addEventListener("change", function () {
        block[name] = select.value;
        changed();
      });
      return select;
    }

    // A list of items is edited as lines: "title | text" (or "url | alt"), one item per line.
    function itemsInput(block, name, itemNames) {
      var text = (block[name] || []).map(function (item) {
        return itemNames.map(function (prop) { return item[prop] || ""; }).join(" | ");
      }).join("\n");
      var control = b.el("textarea", { "data-prop": name, rows: 4, placeholder: itemNames.join(" | "), value: text });
      control.addEventListener("input", function () {
        block[name] = control.value.split("\n").filter(function (line) { return line.trim(); }).map(function (line) {
          var parts = line.split("|");
          var item = {};
          itemNames.forEach(function (prop, i) {
            var last = i === itemNames.length - 1;
            item[prop] = (last ? parts.slice(i).join("|") : parts[i] || "").trim();
          });
          return item;
        });
        changed();
      });
      return b.el("span", { class: "lb-items" }, [control, b.el("small", { class: "help", text: t.items_hint + " " + itemNames.join(" | ") })]);
    }

    function serialise(block) {
      var out = { type: block.type };
      config.types[block.type].forEach(function (prop) {
        out[prop[0]] = block[prop[0]] === undefined ? (prop[1] === "items" ? [] : "") : block[prop[0]];
      });
      return out;
    }
  });
})(window);
