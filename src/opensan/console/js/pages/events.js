// The event log, newest first, a page of the array's at a time.
// GET /rest/log/list/<page> has no level filter, so the filter applies to the page shown: it
// hides the page's events below the chosen level, and says how many it hid.

import { get } from "../api.js";
import { badge, el, table, when } from "../ui.js";

// The filter's choices: the levels each shows.
const FILTERS = {
  all: ["All levels", ["INFO", "WARNING", "ERROR"]],
  warning: ["Warnings and errors", ["WARNING", "ERROR"]],
  error: ["Errors only", ["ERROR"]],
};

export function eventTable(events) {
  return table([
    { label: "Time", value: (e) => when(e.time), class: "nowrap" },
    { label: "Level", value: (e) => badge(e.level) },
    { label: "Source", value: (e) => e.source },
    { label: "Message", value: (e) => e.message, class: "wrap" },
  ], events, { empty: "No events.", rowAttributes: (e) => ({ "data-event": e.id }) });
}

function address(page, filter) {
  return `#/events?page=${page}&level=${filter}`;
}

export async function render(ctx) {
  const page = Math.max(1, Number.parseInt(ctx.query.get("page") ?? "1", 10) || 1);
  const filter = FILTERS[ctx.query.get("level")] ? ctx.query.get("level") : "all";
  const log = await get(`rest/log/list/${page}`);
  const shown = log.events.filter((e) => FILTERS[filter][1].includes(e.level));
  const hidden = log.events.length - shown.length;
  const select = el("select", { id: "level-filter", "aria-label": "Level",
                                onchange: (event) => { location.hash = address(1, event.target.value); } },
    Object.entries(FILTERS).map(([value, [label]]) =>
      el("option", { value, selected: value === filter }, label)));
  const last = Math.max(1, log.totalPages);
  return el("div", {},
    el("h1", {}, "Events"),
    el("div", { class: "toolbar" },
      el("label", {}, "Show ", select),
      el("span", { class: "pager" },
        page > 1 ? el("a", { href: address(page - 1, filter), rel: "prev" }, "‹ Newer")
          : el("span", { class: "muted" }, "‹ Newer"),
        el("span", { id: "page-position" }, ` Page ${page} of ${last} (${log.total} events) `),
        page < last ? el("a", { href: address(page + 1, filter), rel: "next" }, "Older ›")
          : el("span", { class: "muted" }, "Older ›"))),
    hidden ? el("p", { class: "muted", id: "filter-note" },
      `${hidden} of this page's ${log.events.length} events are hidden by the level filter.`)
      : null,
    eventTable(shown));
}
