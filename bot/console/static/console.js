// The console's behaviour: forms answered in place (the chat's own words in a toast), search as
// you type, more orders on demand, and a live socket that refreshes what the page shows.
"use strict";

(() => {
  const body = document.body;
  const prefix = body.dataset.prefix || "/console";
  const csrf = body.dataset.csrf || "";
  const live = document.getElementById("live");
  const toastBox = document.getElementById("toast");
  let toastTimer = null;
  let pending = false;
  let loggedOut = false;

  function toast(lines, bad) {
    if (!toastBox) return;
    toastBox.textContent = lines.join("\n\n");
    toastBox.classList.toggle("bad", Boolean(bad));
    toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastBox.hidden = true; }, 6000);
  }

  function shown() {
    const list = live && live.querySelector("[data-shown]");
    return list ? Number(list.dataset.shown) || 0 : 0;
  }

  function partUrl(extra) {
    const params = new URLSearchParams(location.search);
    params.delete("offset");
    params.set("part", "1");
    for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
    return `${live.dataset.part}?${params}`;
  }

  async function getPart(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.status === 401) { signedOut(); return null; }
    if (!response.ok) return null;
    return response.text();
  }

  function busy() {
    // Never pull a form from under the leader's thumb: an open 取消/改期 form or a field in focus.
    if (!live) return false;
    return Boolean(live.querySelector("details[open]")) || live.contains(document.activeElement);
  }

  async function refresh() {
    if (window.consoleFigures) window.consoleFigures();
    if (!live || !live.dataset.part) return;
    if (busy()) { pending = true; return; }
    pending = false;
    const extra = body.dataset.page === "orders" ? { upto: Math.max(shown(), 50) } : {};
    const html = await getPart(partUrl(extra));
    if (html !== null && !busy()) live.innerHTML = html;
    else if (html !== null) pending = true;
  }
  window.consoleRefresh = refresh;

  function later() { if (pending) setTimeout(() => { if (pending && !busy()) refresh(); }, 50); }
  document.addEventListener("toggle", later, true);
  document.addEventListener("focusout", later);

  function signedOut() {
    if (loggedOut) return;
    loggedOut = true;
    toast(["登录已失效：私聊机器人发「后台」重新登录。"], true);
  }

  // Forms: POST in place, show the answer, refresh the list.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-action")) return;
    event.preventDefault();
    const data = new FormData(form);
    if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(data),
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      });
      if (response.status === 401) { signedOut(); return; }
      const answer = await response.json().catch(() => ({ ok: false, messages: ["出错了，请刷新页面再试。"] }));
      toast(answer.messages.length ? answer.messages : ["已完成"], !answer.ok);
      if (answer.ok) {
        const details = form.closest("details");
        if (details) details.open = false;
        const code = form.querySelector("input[name=code]");
        if (code) code.value = "";
        if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
        await refresh();
      }
    } catch (err) {
      toast(["网络不通，没有执行。请稍后再试。"], true);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  // Search as you type (the form still works without script).
  const search = document.querySelector("[data-search]");
  if (search && live) {
    const box = search.querySelector("input[name=q]");
    let timer = null;
    search.addEventListener("submit", (event) => { event.preventDefault(); run(); });
    box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 250); });
    async function run() {
      const params = new URLSearchParams(location.search);
      params.set("q", box.value.trim());
      params.delete("offset");
      history.replaceState(null, "", `${location.pathname}?${params}`);
      const html = await getPart(partUrl());
      if (html !== null) live.innerHTML = html;
    }
  }

  // More orders: append the next page instead of leaving this one.
  document.addEventListener("click", async (event) => {
    const more = event.target instanceof Element && event.target.closest("[data-more]");
    if (!more || !live) return;
    event.preventDefault();
    const url = new URL(more.href, location.href);
    url.searchParams.set("part", "1");
    const html = await getPart(url.pathname + url.search);
    if (html === null) return;
    const next = document.createElement("div");
    next.innerHTML = html;
    const list = live.querySelector("[data-shown]");
    const added = next.querySelector("[data-shown]");
    added.querySelectorAll(":scope > li[data-no]").forEach((li) => list.appendChild(li));
    list.dataset.shown = String(Number(list.dataset.shown) + added.querySelectorAll(":scope > li[data-no]").length);
    const nextMore = next.querySelector("[data-more]");
    if (nextMore) more.replaceWith(nextMore); else more.remove();
  });

  // Live: the server says "changed", the page fetches again.
  const campaign = body.dataset.live;
  if (campaign) {
    let wait = 1000;
    const state = document.createElement("span");
    state.className = "live-state";
    state.title = "实时更新";
    state.dataset.testid = "live-state";
    const title = document.querySelector("[data-testid=campaign-title]");
    if (title) title.appendChild(state);
    const connect = () => {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${proto}//${location.host}${prefix}/ws?c=${encodeURIComponent(campaign)}`);
      ws.addEventListener("open", () => { wait = 1000; state.dataset.state = "open"; });
      ws.addEventListener("message", (event) => {
        const data = JSON.parse(event.data);
        if (data.type === "changed") refresh();
      });
      ws.addEventListener("close", (event) => {
        state.dataset.state = "closed";
        if (event.code === 4401) { signedOut(); return; }
        if (!loggedOut) setTimeout(connect, wait);
        wait = Math.min(wait * 2, 10000);
      });
    };
    connect();
  }
})();
