// The console's shell: login and logout, the navigation, the pages (one module each, chosen
// by the address's #/fragment) and the messages after a change.

import * as api from "./api.js";
import { confirmChange, el } from "./ui.js";
import * as accounts from "./pages/accounts.js";
import * as dashboard from "./pages/dashboard.js";
import * as disks from "./pages/disks.js";
import * as events from "./pages/events.js";
import * as pools from "./pages/pools.js";
import * as targets from "./pages/targets.js";
import * as volumes from "./pages/volumes.js";

// path -> [navigation label or null, module, whether only administrators see it]
const PAGES = {
  dashboard: ["Dashboard", dashboard, false],
  pools: ["Pools", pools, false],
  volumes: ["Volumes", volumes, false],
  volume: [null, volumes, false],
  targets: ["Targets", targets, false],
  disks: ["Disks", disks, false],
  disk: [null, disks, false],
  events: ["Events", events, false],
  accounts: ["Accounts", accounts, true],
};

// Who is logged in, as the login answered (the array checks every request anyway).
const SESSION_KEY = "opensan.session";
const $ = (id) => document.getElementById(id);
let session = null;
let rendering = 0;

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

function showLogin(message, { failed = true } = {}) {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  $("top").hidden = true;
  $("console").hidden = true;
  $("login-page").hidden = false;
  $("login-error").hidden = !message || !failed;
  $("login-error").textContent = failed ? message ?? "" : "";
  $("login-notice").hidden = !message || failed;
  $("login-notice").textContent = failed ? "" : message;
  $("login-form").elements.password.value = "";
  $("login-form").elements.password.focus();
}

function showError(error) {
  $("alert-text").textContent = api.describe(error);
  $("alert").hidden = false;
}

function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
}

function clearMessages() {
  $("alert").hidden = true;
  $("notice").hidden = true;
}

function route() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/");
  const known = PAGES[name] && (!PAGES[name][2] || session.role === "admin");
  return { name: known ? name : "dashboard", id, query: new URLSearchParams(query) };
}

// What a page gets: who is logged in, where it is, and how to make a change.
function context(where) {
  const ctx = {
    ...where,
    admin: session.role === "admin",
    account: session.account,
    refresh: () => render(),
    // A change that needs no input: on success a notice and the page again (or the page at
    // goTo, when this one is gone with what it showed), else the error.
    async change(work, done, goTo) {
      clearMessages();
      try {
        await work();
        if (goTo) history.pushState(null, "", goTo);
        await render();
        showNotice(done);
      } catch (error) {
        showError(error);
      }
    },
    // The same after a confirmation dialog; cancelling changes nothing.
    async confirmed(question, work, done, goTo) {
      if (await confirmChange(question)) await ctx.change(work, done, goTo);
    },
    // A change made in a form dialog (which shows the array's refusals itself).
    async formChange(dialog, done) {
      clearMessages();
      const answer = await dialog;
      if (answer === null) return;
      await render();
      showNotice(typeof done === "function" ? done(answer) : done);
    },
  };
  return ctx;
}

async function render() {
  const ticket = ++rendering;
  const where = route();
  const [, module] = PAGES[where.name];
  for (const link of $("nav").children) {
    link.toggleAttribute("aria-current", link.dataset.page === where.name
      || (link.dataset.page === "volumes" && where.name === "volume")
      || (link.dataset.page === "disks" && where.name === "disk"));
  }
  let content;
  try {
    content = await module.render(context(where));
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) return;
    content = el("p", { class: "error" }, "The array could not show this page: ", api.describe(error));
  }
  if (ticket !== rendering) return; // another page was asked for meanwhile
  $("page").replaceChildren(content);
}

function buildNavigation() {
  $("nav").replaceChildren(...Object.entries(PAGES)
    .filter(([, [label, , adminOnly]]) => label && (!adminOnly || session.role === "admin"))
    .map(([name, [label]]) => el("a", { href: `#/${name}`, "data-page": name }, label)));
}

async function showConsole() {
  $("login-page").hidden = true;
  $("top").hidden = false;
  $("console").hidden = false;
  $("who").textContent = session.role === "admin" ? session.account
    : `${session.account} (read-only)`;
  $("service-package").hidden = session.role !== "admin";
  buildNavigation();
  clearMessages();
  await render();
  try {
    const system = await api.get("rest/dashboard/systeminfo");
    $("system-name").textContent = `${system.systemName} · ${system.modelName}`;
  } catch {
    // the page shows what went wrong
  }
}

async function downloadServicePackage() {
  clearMessages();
  const button = $("service-package");
  button.disabled = true;
  try {
    const response = await api.send("GET", "rest/system/servicepackage");
    const disposition = response.headers.get("content-disposition") ?? "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? "servicepackage.zip";
    const url = URL.createObjectURL(await response.blob());
    el("a", { href: url, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    showNotice(`Service package ${name} downloaded.`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function start() {
  api.whenSessionEnds((error) => showLogin(`The session has ended: ${error.describe()}`));
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    form.querySelector("button").disabled = true;
    try {
      const answer = await api.login(form.elements.account.value, form.elements.password.value);
      session = { account: answer.account, role: answer.role };
      localStorage.setItem(SESSION_KEY, JSON.stringify(session));
      form.elements.password.value = "";
      if (!location.hash) location.hash = "#/dashboard";
      await showConsole();
    } catch (error) {
      showLogin(api.describe(error));
    } finally {
      form.querySelector("button").disabled = false;
    }
  });
  $("logout").addEventListener("click", async () => {
    try {
      await api.logout();
      showLogin("Logged out.", { failed: false });
    } catch (error) {
      showLogin(api.describe(error));
    }
  });
  $("service-package").addEventListener("click", downloadServicePackage);
  $("alert-close").addEventListener("click", () => { $("alert").hidden = true; });
  window.addEventListener("hashchange", () => {
    if (session) {
      clearMessages();
      render();
    }
  });
  session = loadSession();
  if (session) showConsole();
  else showLogin();
}

start();
