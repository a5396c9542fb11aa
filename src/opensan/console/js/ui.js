// Building blocks of the pages: elements, tables, badges, sizes and the dialogs.
// Every text from the array goes in as text (textContent), never as HTML.

import { describe } from "./api.js";

// el("td", {class: "num"}, "text", childNode, ...): an element; attributes whose value is
// false, null or undefined are left out, a function is an event handler (onclick: ...).
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function bytes(count) {
  let value = Number(count);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

const GIB = 1024 ** 3;

export function gib(count) {
  return Math.round((Number(count) / GIB) * 100) / 100;
}

// The array's time (ISO 8601, UTC) as people read it.
export function when(iso) {
  return String(iso).replace("T", " ").replace(/Z$/, " UTC");
}

export function duration(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes} min` : `${minutes} min`;
}

const GOOD = new Set(["good", "optimal", "online", "normal", "ok", "active", "info", "enabled"]);
const BAD = new Set(["failed", "error", "offline", "missing", "error alert", "read errors"]);

// A state word of the array, coloured by what it means.
export function badge(word) {
  const key = String(word).toLowerCase();
  const tone = GOOD.has(key) ? "good" : BAD.has(key) ? "bad" : "warn";
  return el("span", { class: `badge ${tone}` }, word);
}

// How full something is: a meter, and the figures beside it.
export function usage(used, total) {
  if (!total) return el("span", { class: "muted" }, "none");
  return el("span", { class: "usage" },
    el("meter", { min: 0, max: total, value: used, low: total * 0.8, high: total * 0.9,
                  optimum: 0, title: `${Math.round((used / total) * 100)} %` }),
    ` ${bytes(used)} of ${bytes(total)}`);
}

// columns: [{label, value: row => text or Node, class}]; rows: objects; attributes of each
// row (e.g. a data- attribute that names it) from rowAttributes(row).
export function table(columns, rows, { empty = "None.", rowAttributes = () => ({}) } = {}) {
  if (!rows.length) return el("p", { class: "muted empty" }, empty);
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.class }, c.label)))),
    el("tbody", {}, rows.map((row) => el("tr", rowAttributes(row),
      columns.map((c) => el("td", { class: c.class }, c.value(row))))))));
}

export function details(pairs) {
  return el("dl", { class: "details" },
    pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

export function section(title, ...children) {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}

export function button(label, onclick, { kind = "", title } = {}) {
  return el("button", { type: "button", class: `change ${kind}`.trim(), onclick, title }, label);
}

function modal(dialog) {
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
}

// Asks before a change that cannot be undone; resolves true only on the confirm button.
export function confirmChange({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm", "aria-label": title },
      el("form", { method: "dialog" },
        el("h2", {}, title),
        el("p", {}, message),
        el("div", { class: "buttons" },
          el("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
          el("button", { value: "confirm", class: "danger" }, confirmLabel))));
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"));
    modal(dialog);
  });
}

function fieldInput(field) {
  const common = { name: field.name, required: field.required };
  if (field.type === "select") {
    return el("select", common, field.options.map(([value, label]) =>
      el("option", { value, selected: String(value) === String(field.value ?? "") }, label)));
  }
  if (field.type === "checkboxes") {
    return el("fieldset", { class: "choices" },
      el("legend", {}, field.label),
      field.options.length ? field.options.map(([value, label]) => el("label", {},
        el("input", { type: "checkbox", name: field.name, value }), ` ${label}`))
        : el("span", { class: "muted" }, "None."));
  }
  if (field.type === "checkbox") {
    return el("input", { ...common, type: "checkbox", checked: field.value });
  }
  return el("input", { ...common, type: field.type ?? "text", value: field.value ?? "",
                       min: field.min, step: field.step, placeholder: field.placeholder,
                       autocomplete: field.type === "password" ? "new-password" : "off" });
}

function formValues(form, fields) {
  const values = {};
  for (const field of fields) {
    if (field.type === "checkboxes") {
      values[field.name] = [...form.querySelectorAll(`input[name="${field.name}"]:checked`)]
        .map((box) => box.value);
    } else if (field.type === "checkbox") {
      values[field.name] = form.elements[field.name].checked;
    } else {
      values[field.name] = form.elements[field.name].value.trim();
    }
  }
  return values;
}

// A form in a dialog. submit(values) makes the change; while the array refuses it, its
// message shows in the dialog, which stays open to correct the input. Resolves the
// submit's answer, or null when cancelled. changed(form) runs on every input.
export function formDialog({ title, fields, submitLabel, submit, changed }) {
  return new Promise((resolve) => {
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const form = el("form", { method: "dialog" },
      el("h2", {}, title),
      fields.map((field) => {
        if (field.type === "checkboxes") return fieldInput(field); // a fieldset, with its legend
        if (field.type === "checkbox") return el("label", { class: "check" }, fieldInput(field), ` ${field.label}`);
        return el("label", {}, field.label, fieldInput(field), field.help ? el("small", {}, field.help) : null);
      }),
      error,
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "secondary", value: "cancel",
                       onclick: () => dialog.close() }, "Cancel"),
        el("button", { type: "submit" }, submitLabel)));
    const dialog = el("dialog", { class: "form", "aria-label": title }, form);
    let answer = null;
    if (changed) form.addEventListener("input", () => changed(form));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submitButton = form.querySelector("button[type=submit]");
      submitButton.disabled = true;
      error.hidden = true;
      try {
        answer = await submit(formValues(form, fields));
        dialog.close();
      } catch (failure) {
        error.textContent = describe(failure);
        error.hidden = false;
      } finally {
        submitButton.disabled = false;
      }
    });
    dialog.addEventListener("close", () => resolve(answer));
    modal(dialog);
    if (changed) changed(form);
  });
}
