// Accounts (administrators only): who may log in and with which role; creating, disabling,
// enabling and deleting accounts, and setting a password.

import { get, post } from "../api.js";
import { badge, button, el, formDialog, table } from "../ui.js";

const ROLES = [["user", "Read-only (user)"], ["admin", "Administrator (admin)"]];

function passwordFields() {
  return [
    { name: "password", label: "Password", type: "password", required: true,
      help: "4 to 64 characters." },
    { name: "repeat", label: "The same password again", type: "password", required: true },
  ];
}

// The two password fields must agree before anything is sent.
function samePassword(values) {
  if (values.password !== values.repeat) throw new Error("The two passwords differ.");
}

function createAccount(ctx) {
  return ctx.formChange(formDialog({
    title: "Create an account",
    submitLabel: "Create",
    fields: [
      { name: "account", label: "Name", required: true },
      { name: "role", label: "Role", type: "select", value: "user", options: ROLES },
      ...passwordFields(),
    ],
    submit: (v) => {
      samePassword(v);
      return post("rest/account/create", { account: v.account, role: v.role, password: v.password });
    },
  }), (account) => `Account ${account.name} created.`);
}

function setPassword(ctx, account) {
  return ctx.formChange(formDialog({
    title: `Set the password of ${account.name}`,
    submitLabel: "Set password",
    fields: passwordFields(),
    submit: (v) => {
      samePassword(v);
      return post("rest/account/setpassword", { account: account.name, password: v.password });
    },
  }), `Password of account ${account.name} set.`);
}

function disable(ctx, account) {
  return ctx.confirmed({
    title: `Disable account ${account.name}?`,
    message: `Account ${account.name} can no longer log in, and its sessions end now.`,
    confirmLabel: "Disable",
  }, () => post("rest/account/disable", { account: account.name }), `Account ${account.name} disabled.`);
}

function enable(ctx, account) {
  return ctx.change(() => post("rest/account/enable", { account: account.name }),
    `Account ${account.name} enabled.`);
}

function remove(ctx, account) {
  return ctx.confirmed({
    title: `Delete account ${account.name}?`,
    message: `Account ${account.name} is deleted and its sessions end. This cannot be undone.`,
    confirmLabel: "Delete account",
  }, () => post("rest/account/delete", { account: account.name }), `Account ${account.name} deleted.`);
}

export async function render(ctx) {
  const accounts = await get("rest/account/accountinfo");
  return el("div", {},
    el("div", { class: "title" }, el("h1", {}, "Accounts"),
      button("Create account", () => createAccount(ctx), { kind: "primary" })),
    table([
      { label: "Name", value: (a) => (a.name === ctx.account ? `${a.name} (you)` : a.name) },
      { label: "Role", value: (a) => ROLES.find(([role]) => role === a.role)?.[1] ?? a.role },
      { label: "State", value: (a) => badge(a.enabled ? "Enabled" : "Disabled") },
      { label: "Password", value: (a) => (a.defaultPassword ? badge("Default") : "set") },
      { label: "", class: "actions", value: (a) => [
        button("Set password", () => setPassword(ctx, a)),
        a.enabled ? button("Disable", () => disable(ctx, a), { kind: "danger" })
          : button("Enable", () => enable(ctx, a)),
        button("Delete", () => remove(ctx, a), { kind: "danger" }),
      ] },
    ], accounts, { empty: "No accounts.", rowAttributes: (a) => ({ "data-account": a.name }) }));
}
