// The web chat page: one WebSocket to /ws, history from /api/state, rendering in plain DOM.
// Text is always inserted with textContent (never innerHTML), so nothing a member types can run.
(() => {
  "use strict";

  const app = document.getElementById("app");
  const botName = app.dataset.botName;
  const $ = (id) => app.querySelector(`[data-testid="${id}"]`);
  const ui = {
    identity: $("identity"),
    list: $("chat-list"),
    title: $("chat-title"),
    speakingAs: $("speaking-as"),
    messages: $("messages"),
    composer: $("composer"),
    send: $("send"),
    conn: $("conn-status"),
    campaign: $("campaign-panel"),
    campaignBody: $("campaign-body"),
  };

  const state = {
    groups: new Map(), // group id -> {id, name, leader_id, members}
    names: new Map(), // member id -> display name
    events: new Map(), // history key -> [event]
    seen: new Set(), // event ids already shown
    pending: new Map(), // frame id -> frame not yet acknowledged, i.e. not yet stored (resent until it is)
    unread: new Map(), // chat-item key -> count
    active: ui.list.querySelector(".chat-item").dataset.chat,
    ws: null,
    synced: false,
    buffered: [],
    retry: 0,
    mentionRe: null,
  };

  // ---- helpers -------------------------------------------------------------------------------

  const newId = () =>
    globalThis.crypto && crypto.randomUUID
      ? crypto.randomUUID().replaceAll("-", "")
      : Date.now().toString(16) + Math.random().toString(16).slice(2);

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };

  const me = () => ui.identity.value;
  const keyOf = (ev) => (ev.private_to ? `private:${ev.private_to}` : `group:${ev.chat_id}`);
  // Which chat-list item an event belongs to, from this page's point of view (null: not ours).
  const itemOf = (ev) => (ev.private_to ? (ev.private_to === me() ? "private" : null) : `group:${ev.chat_id}`);
  const viewKey = () => (state.active === "private" ? `private:${me()}` : state.active);

  // "2026-12-05T09:03:00+08:00" -> parts shown as the server's local time, whatever the browser's zone.
  const timeParts = (iso) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    return m ? { date: `${+m[2]}月${+m[3]}日`, hm: `${m[4]}:${m[5]}`, ms: Date.parse(iso) } : null;
  };

  const colourFor = (id) => {
    let h = 0;
    for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
    return `hsl(${h}, 45%, 58%)`;
  };

  const avatar = (ev) => {
    if (ev.sender === "bot") {
      const img = el("img", "avatar");
      img.src = "/static/bot.svg";
      img.alt = botName;
      return img;
    }
    const name = ev.sender_name || state.names.get(ev.sender) || "?";
    const div = el("div", "avatar", [...name][0]);
    div.style.background = colourFor(ev.sender);
    div.title = name;
    return div;
  };

  const buildMentionRe = () => {
    const names = [...new Set([...state.names.values(), botName])].sort((a, b) => b.length - a.length);
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    // Known names first; otherwise any "@word" followed by a space, as the bot writes masked names (@李**).
    state.mentionRe = new RegExp(`@(${escaped.join("|")})|@[^\\s@]+(?=\\s|$)`, "gu");
  };

  // Text with @mentions highlighted; the identity's own name stands out more.
  const richText = (parent, text) => {
    if (!state.mentionRe) {
      parent.textContent = text;
      return;
    }
    let last = 0;
    const myName = state.names.get(me());
    for (const m of text.matchAll(state.mentionRe)) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      const span = el("span", m[1] === myName ? "mention me" : "mention", m[0]);
      span.dataset.testid = "mention";
      parent.append(span);
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.append(text.slice(last));
  };

  // ---- rendering ------------------------------------------------------------------------------

  const bubble = (ev) => {
    if (ev.kind === "image" && ev.url) {
      const b = el("div", "bubble image");
      const img = el("img");
      img.src = ev.url;
      img.alt = ev.text || ev.name || "图片";
      img.dataset.testid = "image";
      // The picture's height is known only once it loads; keep following the conversation.
      img.addEventListener("load", () => {
        if (nearBottom(img.height + 80)) scrollDown();
      });
      b.append(img);
      return b;
    }
    if (ev.kind === "file" && ev.url) {
      const b = el("div", "bubble file");
      const a = el("a", "file-card");
      a.href = ev.url;
      a.download = ev.name || "";
      a.dataset.testid = "file-card";
      const meta = el("div", "file-meta");
      meta.style.flex = "1";
      meta.style.minWidth = "0";
      meta.append(el("div", "file-name", ev.name || "文件"), el("div", "file-sub", ev.text || "点击下载"));
      const ext = (ev.name || "").split(".").pop().toUpperCase().slice(0, 4) || "FILE";
      a.append(meta, el("div", "file-icon", ext));
      b.append(a);
      return b;
    }
    const b = el("div", "bubble");
    richText(b, ev.text || "");
    return b;
  };

  let lastShown = null; // {ms, date} of the last time separator in the open view

  const appendRow = (ev) => {
    const t = timeParts(ev.time);
    if (t && (!lastShown || t.ms - lastShown.ms > 5 * 60 * 1000)) {
      const sep = el("div", "time-sep");
      sep.append(el("span", null, !lastShown || lastShown.date !== t.date ? `${t.date} ${t.hm}` : t.hm));
      ui.messages.append(sep);
      lastShown = t;
    }
    const mine = ev.sender === me();
    const row = el("div", `msg${mine ? " mine" : ""}${ev.sender === "bot" ? " bot" : ""}`);
    row.dataset.testid = "message";
    row.dataset.sender = ev.sender;
    row.dataset.kind = ev.kind || "text";
    if (ev.template) row.dataset.template = ev.template;
    const body = el("div", "body");
    if (!mine && !ev.private_to) body.append(el("div", "sender", ev.sender_name));
    const b = bubble(ev);
    b.dataset.testid = "bubble";
    if (t) b.title = `${t.date} ${t.hm}`;
    body.append(b);
    row.append(avatar(ev), body);
    ui.messages.append(row);
  };

  const nearBottom = (slack = 80) =>
    ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < slack;
  const scrollDown = () => {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  };

  const renderView = () => {
    ui.messages.replaceChildren();
    lastShown = null;
    const events = state.events.get(viewKey()) || [];
    if (!events.length) {
      const hint =
        state.active === "private"
          ? `和${botName}私聊：试试发“帮助”或“我的订单”`
          : "还没有消息，试着说点什么吧";
      ui.messages.append(el("div", "empty", hint));
    }
    events.forEach(appendRow);
    scrollDown();
    for (const item of ui.list.querySelectorAll(".chat-item")) {
      item.classList.toggle("active", item.dataset.chat === state.active);
    }
    if (state.active === "private") {
      ui.title.textContent = botName;
    } else {
      const g = state.groups.get(state.active.slice("group:".length));
      ui.title.textContent = g ? `${g.name}（${g.members.length}）` : "";
    }
    ui.speakingAs.textContent = `以「${state.names.get(me()) || ""}」的身份发言`;
    state.unread.set(state.active, 0);
    renderSidebar();
  };

  const renderSidebar = () => {
    for (const item of ui.list.querySelectorAll(".chat-item")) {
      const key = item.dataset.chat === "private" ? `private:${me()}` : item.dataset.chat;
      const events = state.events.get(key) || [];
      const last = events[events.length - 1];
      const preview = item.querySelector(".chat-preview");
      if (!last) preview.textContent = "";
      else if (last.kind === "image") preview.textContent = "[图片]";
      else if (last.kind === "file") preview.textContent = `[文件] ${last.name || ""}`;
      else {
        const who = last.private_to || last.sender === me() ? "" : `${last.sender_name}：`;
        preview.textContent = who + (last.text || "").split("\n")[0];
      }
      const n = state.unread.get(item.dataset.chat) || 0;
      const badge = item.querySelector(".badge");
      badge.hidden = n === 0;
      badge.textContent = n > 99 ? "99+" : String(n);
    }
  };

  const addEvent = (ev) => {
    if (state.seen.has(ev.id)) return;
    state.seen.add(ev.id);
    const key = keyOf(ev);
    if (!state.events.has(key)) state.events.set(key, []);
    state.events.get(key).push(ev);
    const item = itemOf(ev);
    if (item === null) return;
    if (item === state.active) {
      const follow = nearBottom() || ev.sender === me();
      ui.messages.querySelector(".empty")?.remove();
      appendRow(ev);
      if (follow) scrollDown();
    } else {
      state.unread.set(item, (state.unread.get(item) || 0) + 1);
    }
    renderSidebar();
    if (ev.sender === "bot") scheduleCampaign();
  };

  const notice = (text) => {
    const n = el("div", "notice", text);
    n.dataset.testid = "notice";
    ui.messages.append(n);
    scrollDown();
  };

  // ---- server state -----------------------------------------------------------------------------

  const applyState = (st) => {
    state.groups = new Map(st.groups.map((g) => [g.id, g]));
    state.names = new Map();
    for (const g of st.groups) for (const m of g.members) state.names.set(m.id, m.name);
    buildMentionRe();
    state.events = new Map();
    state.seen = new Set();
    for (const [key, events] of Object.entries(st.history)) {
      state.events.set(key, events);
      for (const ev of events) state.seen.add(ev.id);
    }
    renderView();
  };

  let campaignTimer = null;
  const scheduleCampaign = () => {
    clearTimeout(campaignTimer);
    campaignTimer = setTimeout(refreshCampaign, 300);
  };

  const refreshCampaign = async () => {
    let resp;
    try {
      resp = await fetch("/api/campaign", { cache: "no-store" });
    } catch {
      return;
    }
    if (!resp.ok) {
      ui.campaign.hidden = true;
      return;
    }
    const c = await resp.json();
    ui.campaign.hidden = false;
    ui.campaignBody.replaceChildren();
    if (!c) {
      ui.campaignBody.append(el("div", "empty", "暂无进行中的团购"));
      return;
    }
    ui.campaignBody.append(el("div", "title", c.title), el("div", "status", c.status || ""));
    if (Array.isArray(c.items) && c.items.length) {
      const table = el("table");
      for (const item of c.items) {
        const tr = el("tr");
        tr.append(el("td", null, item.name), el("td", "num", item.price || ""), el("td", "num", item.left || ""));
        table.append(tr);
      }
      ui.campaignBody.append(table);
    }
    if (Array.isArray(c.lines) && c.lines.length) ui.campaignBody.append(el("div", "lines", c.lines.join("\n")));
  };

  // ---- the socket -------------------------------------------------------------------------------

  const setConn = (s) => {
    ui.conn.dataset.state = s;
    ui.conn.textContent = { connecting: "连接中…", open: "已连接", closed: "连接已断开，正在重连…" }[s];
  };

  // Who this page speaks as: the server sends it that member's private chat, and no other.
  const hello = () => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "hello", as: me() }));
  };

  const handle = (data) => {
    if (data.type === "message") addEvent(data);
    else if (data.type === "ack") state.pending.delete(data.id);
    else if (data.type === "retry") {
      // Not stored yet (the bot could not record it): the frame stays pending and goes again.
      setTimeout(() => {
        const frame = state.pending.get(data.id);
        if (frame && state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
      }, 1000);
    } else if (data.type === "history") {
      for (const ev of data.events) state.seen.add(ev.id);
      state.events.set(data.key, data.events);
      renderView();
    } else if (data.type === "error") {
      if (data.id) state.pending.delete(data.id);
      notice(data.text);
    }
  };

  const connect = () => {
    setConn("connecting");
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    state.ws = ws;
    state.synced = false;
    state.buffered = [];
    ws.onopen = async () => {
      // Subscribe first, then load history, then apply what arrived meanwhile: nothing is missed.
      try {
        const resp = await fetch("/api/state", { cache: "no-store" });
        applyState(await resp.json());
      } catch {
        ws.close();
        return;
      }
      state.retry = 0;
      state.synced = true;
      state.buffered.forEach(handle);
      state.buffered = [];
      setConn("open");
      hello();
      // Frames not yet acknowledged (not yet stored by the bot) go again; the bot keeps one.
      for (const frame of state.pending.values()) ws.send(JSON.stringify(frame));
      refreshCampaign();
    };
    ws.onmessage = (e) => {
      const data = JSON.parse(e.data);
      if (state.synced) handle(data);
      else state.buffered.push(data);
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      setConn("closed");
      const delay = Math.min(5000, 300 * 2 ** state.retry++);
      setTimeout(connect, delay);
    };
  };

  // ---- sending ------------------------------------------------------------------------------------

  const say = () => {
    const text = ui.composer.value;
    if (!text.trim()) return;
    const frame = { type: "say", id: newId(), sender_id: me(), text };
    if (state.active === "private") frame.private = true;
    else frame.chat_id = state.active.slice("group:".length);
    state.pending.set(frame.id, frame);
    if (state.ws && state.ws.readyState === WebSocket.OPEN && state.synced) state.ws.send(JSON.stringify(frame));
    ui.composer.value = "";
    ui.composer.focus();
  };

  ui.composer.addEventListener("keydown", (e) => {
    // Enter while an input method is composing picks a candidate; it must not send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      say();
    }
  });
  ui.send.addEventListener("click", say);

  ui.list.addEventListener("click", (e) => {
    const item = e.target.closest(".chat-item");
    if (!item) return;
    state.active = item.dataset.chat;
    renderView();
    ui.composer.focus();
  });
  ui.list.addEventListener("keydown", (e) => {
    if (e.key === "Enter") e.target.closest(".chat-item")?.click();
  });

  ui.identity.addEventListener("change", () => {
    try {
      localStorage.setItem("tuanbot.identity", me());
    } catch {}
    state.unread.set("private", 0);
    hello();
    renderView();
    ui.composer.focus();
  });

  try {
    const saved = localStorage.getItem("tuanbot.identity");
    if (saved && [...ui.identity.options].some((o) => o.value === saved)) ui.identity.value = saved;
  } catch {}

  connect();
})();
