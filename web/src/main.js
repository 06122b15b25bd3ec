// The Barometer dashboard: loads dashboard/config.json, then refreshes the visible view every few seconds.
import "./style.css";
import { h, replaceChildren } from "./dom.js";
import { ApiError, createApi } from "./lib/api.js";
import { formatTime, toRfc3339 } from "./lib/format.js";
import { VIEWS, parseRoute, routeHash } from "./lib/route.js";
import { createAlertsView } from "./views/alerts.js";
import { createHealthView } from "./views/health.js";
import { createRollupsView } from "./views/rollups.js";
import { createStocksView } from "./views/stocks.js";
import { createWeatherView } from "./views/weather.js";

const TOKEN_STORAGE = "barometer.token";
const VIEW_LABELS = { stocks: "Stocks", weather: "Weather", alerts: "Alerts", health: "Pipeline health", rollups: "Daily rollups" };
const VIEW_FACTORIES = { stocks: createStocksView, weather: createWeatherView, alerts: createAlertsView, health: createHealthView, rollups: createRollupsView };

async function loadDashboardConfig() {
  const response = await fetch("dashboard/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`dashboard/config.json answered ${response.status}`);
  const config = await response.json();
  return {
    apiBase: typeof config.api_base === "string" ? config.api_base : "",
    token: config.token || sessionStorage.getItem(TOKEN_STORAGE) || "",
    refreshMs: Number.isFinite(config.refresh_ms) && config.refresh_ms >= 500 ? config.refresh_ms : 3000,
  };
}

function shell() {
  const announcer = h("div", { class: "visually-hidden", "aria-live": "polite", id: "announcer" });
  const banner = h("p", { class: "banner", role: "alert", hidden: true });
  const status = h("p", { class: "status", dataset: { testid: "status" } });
  const nav = h(
    "nav",
    { "aria-label": "Views" },
    h("ul", {}, VIEWS.map((view) => h("li", {}, h("a", { href: routeHash(view), dataset: { view } }, VIEW_LABELS[view])))),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  const skip = h("a", { class: "skip", href: "#main", onclick: (event) => { event.preventDefault(); main.focus(); } }, "Skip to content");
  const header = h("header", {}, h("div", { class: "brand" }, h("h1", {}, "Barometer"), h("span", { class: "tagline" }, "stocks · weather · alerts")), nav, status);
  replaceChildren(document.getElementById("app"), skip, header, banner, main, announcer);
  return { announcer, banner, status, nav, main };
}

function showBanner(banner, text) {
  if (!text) {
    banner.hidden = true;
    banner.textContent = "";
  } else if (banner.textContent !== text) {
    banner.textContent = text;
    banner.hidden = false;
  }
}

function askForToken(main, message) {
  return new Promise((resolve) => {
    const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
    const form = h(
      "form",
      {
        class: "token-form",
        onsubmit: (event) => {
          event.preventDefault();
          sessionStorage.setItem(TOKEN_STORAGE, input.value.trim());
          form.remove();
          resolve(input.value.trim());
        },
      },
      h("h2", {}, "Sign in to the Barometer API"),
      h("p", {}, message),
      h("label", { for: "token" }, "Bearer token"),
      input,
      h("button", { type: "submit" }, "Use this token"),
    );
    main.prepend(form);
    input.focus();
  });
}

async function start() {
  const ui = shell();
  let settings;
  try {
    settings = await loadDashboardConfig();
  } catch (error) {
    showBanner(ui.banner, `Cannot load the dashboard configuration: ${error.message}`);
    return;
  }
  // The local platform's config.json hands out a short-lived read token: on a 401 the page reads it again
  // (a token typed by the user, kept for the tab, is only replaced by one the configuration provides).
  const renewToken = async () => (await loadDashboardConfig()).token;
  const api = createApi({ apiBase: settings.apiBase, token: settings.token, renewToken });
  if (!api.hasToken()) api.setToken(await askForToken(ui.main, "dashboard/config.json holds no token for this API."));

  let config = null;
  while (!config) {
    try {
      config = await api.config();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        api.setToken(await askForToken(ui.main, "The API refused the token (401)."));
      } else {
        showBanner(ui.banner, `Cannot read /v1/config: ${error.message}. Retrying…`);
        await new Promise((resolve) => setTimeout(resolve, settings.refreshMs));
      }
    }
  }
  showBanner(ui.banner, "");

  let timer = null;
  let running = false;
  let again = false;
  const ctx = {
    api,
    config,
    refreshNow: () => tick(),
    // Views put their state in the URL: a new history entry, or (replace) the current one rewritten.
    navigate: (hash, { replace = false } = {}) => {
      if (hash === location.hash) return tick();
      if (replace) {
        history.replaceState(history.state, "", hash);
        route();
      } else {
        location.hash = hash; // hashchange routes
      }
    },
    announce: (text) => {
      ui.announcer.textContent = text;
    },
  };
  const views = Object.fromEntries(VIEWS.map((name) => [name, VIEW_FACTORIES[name](ctx)]));
  ui.main.append(...Object.values(views).map((view) => view.element));
  let active = null;

  async function tick() {
    clearTimeout(timer);
    if (running) {
      again = true;
      return;
    }
    running = true;
    const view = active;
    try {
      await view.refresh();
      ui.status.textContent = `Live · refreshed ${formatTime(toRfc3339(Date.now()))} · every ${settings.refreshMs / 1000} s`;
      ui.status.classList.remove("stale");
      showBanner(ui.banner, "");
    } catch (error) {
      ui.status.classList.add("stale");
      if (error instanceof ApiError && error.status === 401) {
        running = false;
        api.setToken(await askForToken(ui.main, "The API refused the token (401)."));
        return tick();
      }
      showBanner(ui.banner, `${VIEW_LABELS[view.name]}: ${error.message}`);
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      return tick();
    }
    timer = setTimeout(tick, settings.refreshMs);
  }

  function route() {
    const { view, key, params } = parseRoute(location.hash);
    const changed = active?.name !== view;
    for (const [name, candidate] of Object.entries(views)) if (name !== view) candidate.hide();
    active = views[view];
    active.show({ key, params });
    for (const link of ui.nav.querySelectorAll("a")) link.setAttribute("aria-current", link.dataset.view === view ? "page" : "false");
    document.title = `${VIEW_LABELS[view]}${key ? ` · ${key}` : ""} · Barometer`;
    if (changed && document.activeElement && ui.nav.contains(document.activeElement)) {
      const heading = active.element.querySelector("h2");
      heading.tabIndex = -1;
      heading.focus();
    }
    tick();
  }

  window.addEventListener("hashchange", route);
  route();
}

start();
