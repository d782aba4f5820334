// The web inbox: sign-in, the chat list, the conversation, the composer, chat actions, all on
// the public REST API (api.js) and the live stream (live.js).
import { api, ApiError, del, get, onUnauthorized, patch, post, put, query, setCsrf } from "./api.js";
import { Live } from "./live.js";
import {
  CHAT_STATUS, chatName, el, failureReason, messageBody, previewText, safeLink, shortTime, statusNode, systemText,
} from "./render.js";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const WINDOW_MS = 24 * 60 * 60 * 1000;
const VIEWS = {
  mine: (me) => ({ "statuses[]": ["PENDING", "ASSIGNED"], agentUid: me.uid }),
  unassigned: () => ({ "statuses[]": ["PENDING"] }),
  all: () => ({}),
  resolved: () => ({ "statuses[]": ["RESOLVED"] }),
};

const state = {
  me: null, scopes: [], view: "unassigned", search: "", department: "", label: "",
  chats: new Map(), order: [], total: 0, loadingEpoch: null, exhausted: false, listEpoch: 0,
  current: null, messages: new Map(), oldestLoaded: null, historyDone: false,
  labels: [], departments: [], agents: [], quickReplies: [], templates: null,
  replyTo: null, attachment: null, pendingSeq: 0, live: null, windowTimer: null,
};

const can = (scope) => state.scopes.includes(scope);
const isAdmin = () => (state.me.roles || []).includes("admin");

// ------------------------------------------------------------------ sign-in

async function boot() {
  try {
    const me = await get("/auth/me");
    await enter(me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showSignin();
    else showSignin(String(err.message || err));
  }
}

function showSignin(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("signin-email").focus();
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("signin-error").textContent = "";
  try {
    const answer = await post("/auth/login", { email: $("signin-email").value, password: $("signin-password").value });
    $("signin-password").value = "";
    setCsrf(answer.csrfToken);
    const me = await get("/auth/me");
    await enter(me);
  } catch (err) {
    $("signin-error").textContent = err instanceof ApiError && err.status === 401
      ? "Wrong email or password" : `Sign-in failed: ${err.message}`;
  }
});

$("signout").addEventListener("click", async () => {
  try { await post("/auth/logout"); } catch { /* signed out anyway */ }
  location.reload();
});

// A session that ended while the page was open (signed out elsewhere, expired, the agent
// deactivated): every call answers 401 session_ended; the page stops and asks to sign in again.
function sessionEnded() {
  if (!state.me) return;
  state.me = null;
  if (state.live) state.live.close();
  clearInterval(state.windowTimer);
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  showSignin("Your session has ended: sign in again.");
}
onUnauthorized(sessionEnded);

async function enter(me) {
  setCsrf(me.csrfToken);
  state.me = me.agent;
  state.scopes = me.scopes || [];
  $("signin").hidden = true;
  $("app").hidden = false;
  $("me").textContent = me.agent.displayName || me.agent.email;
  $("open-settings").hidden = !isAdmin();
  setPresenceSwitch(me.agent.presence !== "away");
  state.live = new Live({ onEvent: applyEvent, onResync: resync, onState: liveState });
  // the list first (the first screen), the reference lists beside it
  const [lastEventId] = await Promise.all([loadList(), loadLabels(), loadDepartments(), loadQuickReplies()]);
  state.live.start(lastEventId);
  clearInterval(state.windowTimer);
  state.windowTimer = setInterval(renderWindow, 20_000);
}

function liveState(s) {
  document.body.dataset.live = s;
  // the browser gave up on the stream: if the session ended, the probe's 401 says so (sessionEnded)
  if (s === "closed") get("/auth/me").catch(() => {});
}

function setPresenceSwitch(online) {
  $("presence").checked = online;
  $("presence-text").textContent = online ? "Online" : "Away";
  $("presence").setAttribute("aria-label", online ? "Online" : "Away");
}

$("presence").addEventListener("change", async () => {
  const online = $("presence").checked;
  setPresenceSwitch(online);
  try { await put("/auth/me/presence", { presence: online ? "online" : "away" }); } catch (err) {
    showActionError(err);
  }
});

// ------------------------------------------------------------------ reference lists

async function loadLabels() {
  try { state.labels = (await get("/labels")).labels || []; } catch { state.labels = []; }
  fillSelect($("filter-label"), state.labels.map((l) => [l.id, l.name]), "Any");
}

async function loadDepartments() {
  state.departments = [];
  if (can("Manage agents")) {
    try { state.departments = (await get("/departments")).departments || []; } catch { /* none */ }
  }
  fillSelect($("filter-department"), state.departments.map((d) => [d.id || d._id, d.name]), "Any");
}

async function loadQuickReplies() {
  try { state.quickReplies = (await get("/quick-replies")).quickReplies || []; } catch { state.quickReplies = []; }
}

function fillSelect(select, pairs, empty) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, empty), ...pairs.map(([v, t]) => el("option", { value: v }, t)));
  select.value = pairs.some(([v]) => v === keep) ? keep : "";
}

// ------------------------------------------------------------------ the chat list

function viewQuery() {
  const q = { ...VIEWS[state.view](state.me), withLastMessage: 1, limit: PAGE };
  if (state.search.length >= 2) q.search = state.search;
  if (state.department) q.departmentId = state.department;
  if (state.label) q["labels[]"] = [state.label];
  return q;
}

function matchesView(chat) {
  const uid = chat.agent && chat.agent.uid;
  const ok = {
    mine: () => uid === state.me.uid && (chat.status === 1 || chat.status === 2),
    unassigned: () => chat.status === 1 && !uid,
    all: () => true,
    resolved: () => chat.status === 3,
  }[state.view]();
  if (!ok) return false;
  if (state.department && chat.departmentId !== state.department) return false;
  if (state.label && !(chat.labels || []).includes(state.label)) return false;
  if (state.search.length >= 2) {
    const term = state.search.toLowerCase();
    const digits = term.replace(/\D/g, "");
    const names = [chat.displayName, chat.title].filter(Boolean).map((s) => s.toLowerCase());
    const byName = names.some((n) => n.includes(term));
    const byPhone = !/\p{L}/u.test(term) && digits && (chat.clientPhoneE164 || "").includes(digits);
    if (!byName && !byPhone) return false;
  }
  return true;
}

async function loadList() {
  const epoch = ++state.listEpoch;
  state.order = [];
  state.exhausted = false;
  $("chat-list").replaceChildren();
  return loadMore(epoch);
}

// A page of the list being loaded belongs to one list (its epoch): switching views while a page
// of the old view is in flight starts the new view's first page at once, and the old page is dropped.
async function loadMore(epoch = state.listEpoch) {
  if (state.exhausted || state.loadingEpoch === epoch) return null;
  state.loadingEpoch = epoch;
  $("list-status").textContent = "Loading…";
  try {
    const page = await get(`/chats/search${query({ ...viewQuery(), skip: state.order.length })}`);
    if (epoch !== state.listEpoch) return page.lastEventId;
    for (const chat of page.data) {
      const old = state.chats.get(chat._id);
      state.chats.set(chat._id, { ...old, ...chat });
      if (!state.order.includes(chat._id)) state.order.push(chat._id);
    }
    state.total = page.total;
    state.exhausted = state.order.length >= page.total || page.data.length < PAGE;
    renderList();
    return page.lastEventId;
  } catch (err) {
    if (epoch === state.listEpoch) $("list-status").textContent = `Could not load chats: ${err.message}`;
    return null;
  } finally {
    if (state.loadingEpoch === epoch) state.loadingEpoch = null;
    if (epoch === state.listEpoch && !$("list-status").textContent.startsWith("Could")) {
      $("list-status").textContent = state.order.length ? "" : "No chats here.";
    }
  }
}

function sortOrder() {
  state.order.sort((a, b) => {
    const ca = state.chats.get(a);
    const cb = state.chats.get(b);
    return (cb.last_message_timestamp || 0) - (ca.last_message_timestamp || 0) || (a < b ? 1 : -1);
  });
}

function chatItem(chat) {
  const unread = chat.unreadCount || 0;
  return el("li", { "data-chat": chat._id },
    el("button", {
      type: "button", "aria-current": chat._id === state.current ? "true" : "false",
      onclick: () => openChat(chat._id),
    },
    el("span", { class: "chat-name", dir: "auto" }, chatName(chat)),
    el("span", { class: "chat-time" }, shortTime(chat.last_message_timestamp)),
    el("span", { class: "chat-preview", dir: "auto" }, previewText(chat.lastMessage)),
    unread ? el("span", { class: "unread", "aria-label": `${unread} unread` }, String(unread)) : el("span")));
}

function renderList() {
  sortOrder();
  const list = $("chat-list");
  const focusedId = document.activeElement && document.activeElement.closest("#chat-list li")?.dataset.chat;
  list.replaceChildren(...state.order.map((id) => chatItem(state.chats.get(id))));
  list.dataset.view = state.view;
  if (focusedId) list.querySelector(`li[data-chat="${CSS.escape(focusedId)}"] button`)?.focus();
}

$("chat-list").addEventListener("scroll", () => {
  const list = $("chat-list");
  if (list.scrollTop + list.clientHeight >= list.scrollHeight - 200) loadMore();
});

for (const button of document.querySelectorAll("[data-view]")) {
  button.addEventListener("click", () => {
    state.view = button.dataset.view;
    for (const b of document.querySelectorAll("[data-view]")) b.setAttribute("aria-pressed", String(b === button));
    loadList();
  });
}

let searchTimer = null;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.search = $("search").value.trim(); loadList(); }, 250);
});
$("filter-department").addEventListener("change", () => { state.department = $("filter-department").value; loadList(); });
$("filter-label").addEventListener("change", () => { state.label = $("filter-label").value; loadList(); });

// ------------------------------------------------------------------ live events

function applyEvent(type, data) {
  if (!state.me) return; // signed out: the stream is closing
  document.dispatchEvent(new CustomEvent("inboxd:live", { detail: { type, data } })); // Settings, when open
  if (type === "agent.updated" && data.uid === state.me.uid) {
    if (!data.active) { sessionEnded(); return; }
    setPresenceSwitch(data.presence !== "away"); // (set in another tab, too)
    if (String(data.roles) !== String(state.me.roles) || String(data.departments) !== String(state.me.departments)) {
      // What they see changed: the server ends the stream, which reconnects with the new view; the
      // list is loaded again once the server's session cache (0.5 s) has the change.
      setTimeout(rescope, 1000);
    }
  }
  if (type === "chat.created" || type === "chat.updated") upsertChat(data);
  else if (type === "message.created" || type === "message.updated") upsertMessage(data, type === "message.created");
  else if (type === "label.updated" || type === "label.deleted") upsertById(state.labels, "id", data, () => {
    fillSelect($("filter-label"), state.labels.map((l) => [l.id, l.name]), "Any");
    if (state.current) renderHeader();
  });
  else if (type === "quick_reply.updated" || type === "quick_reply.deleted") upsertById(state.quickReplies, "_id", data);
}

// The agent's role or departments changed: their scopes, the Settings button and the list follow.
async function rescope() {
  try {
    const me = await get("/auth/me");
    state.me = me.agent;
    state.scopes = me.scopes || [];
    $("open-settings").hidden = !isAdmin();
    loadList();
  } catch { /* a 401 signs the page out (api.js) */ }
}

function upsertById(list, key, item, after) {
  const i = list.findIndex((x) => x[key] === item[key]);
  if (item.deleted) { if (i >= 0) list.splice(i, 1); } else if (i >= 0) list[i] = item; else list.push(item);
  if (after) after();
}

function upsertChat(chat) {
  const old = state.chats.get(chat._id);
  const merged = { ...old, ...chat };
  state.chats.set(chat._id, merged);
  const listed = state.order.includes(chat._id);
  const belongs = matchesView(merged);
  if (belongs && !listed) state.order.push(chat._id);
  if (!belongs && listed) state.order = state.order.filter((id) => id !== chat._id);
  if (belongs || listed) renderList();
  if (chat._id === state.current) renderHeader();
}

function upsertMessage(m, created) {
  const chat = state.chats.get(m.parent_chat);
  if (chat && created && m.type !== "system") {
    chat.lastMessage = { type: m.type, text: m.text || (m.media && m.media[0] && m.media[0].caption) || undefined };
    if (state.order.includes(chat._id)) renderList();
  }
  if (m.parent_chat !== state.current) return;
  if (m.tmpSendId) {
    for (const [id, pending] of state.messages) if (pending.pending && pending.tmpSendId === m.tmpSendId) state.messages.delete(id);
  }
  state.messages.set(m._id, m);
  renderMessages({ stickToBottom: true });
  if (created && m.direction === "incoming" && document.visibilityState === "visible") markRead();
}

async function resync() {
  const lastEventId = await loadList();
  if (state.current) await loadHistory(true);
  if (lastEventId && state.live) state.live.lastId = Math.max(state.live.lastId, lastEventId);
}

// ------------------------------------------------------------------ the conversation

async function openChat(id) {
  state.current = id;
  state.messages = new Map();
  state.historyDone = false;
  state.replyTo = null;
  clearAttachment();
  $("replying").hidden = true;
  $("app").classList.add("chat-open");
  $("conversation").hidden = false;
  $("empty").hidden = true;
  $("details").hidden = true;
  $("act-details").setAttribute("aria-expanded", "false");
  $("labels-panel").hidden = true;
  $("action-error").textContent = "";
  renderList();
  renderHeader();
  $("messages").replaceChildren();
  await loadHistory(true);
  markRead();
}

async function markRead() {
  const chat = state.chats.get(state.current);
  if (!chat || !chat.unreadCount) return;
  try { await post(`/chats/${chat._id}/read`); } catch { /* the count stays; nothing else breaks */ }
}

async function loadHistory(fresh = false) {
  const chatId = state.current;
  if (!chatId || (!fresh && state.historyDone)) return;
  const before = fresh || !state.oldestLoaded ? { beforeTime: "9999999999999", beforeId: "z" }
    : { beforeTime: state.oldestLoaded.timestamp, beforeId: state.oldestLoaded._id };
  const list = $("messages");
  const height = list.scrollHeight;
  try {
    const page = await get(`/messages/chat/${chatId}${query({ ...before, limit: 50 })}`);
    if (chatId !== state.current) return;
    if (fresh) for (const [id, m] of state.messages) if (!m.pending && !m.local) state.messages.delete(id);
    for (const m of page.messages) state.messages.set(m._id, m);
    state.historyDone = page.messages.length < 50;
    const sorted = sortedMessages().filter((m) => !m.pending);
    state.oldestLoaded = sorted[0] || null;
    renderMessages({ stickToBottom: fresh });
    if (!fresh) list.scrollTop = list.scrollHeight - height;
  } catch (err) {
    showActionError(err);
  }
}

$("messages").addEventListener("scroll", () => {
  if ($("messages").scrollTop < 80) loadHistory(false);
});

$("back").addEventListener("click", closeChat);

function closeChat() {
  state.current = null;
  $("app").classList.remove("chat-open");
  $("conversation").hidden = true;
  $("empty").hidden = false;
  renderList();
  $("chat-list").querySelector("button")?.focus();
}

function sortedMessages() {
  return [...state.messages.values()].sort((a, b) => (a.timestamp - b.timestamp) || (a._id < b._id ? -1 : 1));
}

function byWamid(wamid) {
  for (const m of state.messages.values()) if (m.channelInfo && m.channelInfo.id === wamid) return m;
  return null;
}

function messageItem(m) {
  if (m.type === "system" || m.systemMessage) {
    return el("li", { class: "msg system", "data-id": m._id }, `— ${systemText(m)} · ${shortTime(m.timestamp)} —`);
  }
  const out = m.direction === "outgoing";
  const failed = m.status === 4 || m.status === 5 || m.sendError;
  const meta = el("div", { class: "msg-meta" },
    el("time", {}, shortTime(m.timestamp)),
    statusNode(m),
    failed ? el("span", { class: "error", role: "note" }, m.sendError || failureReason(m) || "Not delivered") : null,
    m.sendError ? el("button", { type: "button", onclick: () => retry(m) }, "Retry") : null,
    m.pending ? null : el("div", { class: "menu", role: "menu", "aria-label": "Message actions" },
      el("button", { type: "button", role: "menuitem", onclick: () => startReply(m) }, "Reply")));
  return el("li", { class: `msg ${out ? "out" : "in"}`, "data-id": m._id, "data-direction": m.direction },
    ...messageBody(m, byWamid), meta);
}

function renderMessages({ stickToBottom } = {}) {
  const list = $("messages");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  list.replaceChildren(...sortedMessages().map(messageItem));
  if (stickToBottom || atBottom) list.scrollTop = list.scrollHeight;
}

function windowOpen(chat) {
  return Boolean(chat.lastIncomingMessageTimestamp) && Date.now() - chat.lastIncomingMessageTimestamp < WINDOW_MS;
}

function renderWindow() {
  const chat = state.current && state.chats.get(state.current);
  if (!chat) return;
  const node = $("conv-window");
  const open = windowOpen(chat);
  if (open) {
    const left = WINDOW_MS - (Date.now() - chat.lastIncomingMessageTimestamp);
    const hours = Math.floor(left / 3_600_000);
    const minutes = Math.floor((left % 3_600_000) / 60_000);
    node.textContent = `Window open: ${hours} h ${minutes} min left`;
  } else {
    node.textContent = "Window closed";
  }
  node.classList.toggle("closed", !open);
  $("composer").hidden = !open;
  $("window-closed").hidden = open;
  if (!open) $("replying").hidden = true;
}

function renderHeader() {
  const chat = state.chats.get(state.current);
  if (!chat) return;
  $("conv-name").textContent = chatName(chat);
  const agent = chat.agent && chat.agent.uid ? ` · ${chat.agent.displayName || "an agent"}` : "";
  const labels = (chat.labels || []).map((id) => state.labels.find((l) => l.id === id)?.name || id);
  $("conv-meta").textContent = `${chat.clientPhone || ""} · ${CHAT_STATUS[chat.status] || ""}${agent}${labels.length ? ` · ${labels.join(", ")}` : ""}`;
  $("act-take").hidden = Boolean(chat.agent && chat.agent.uid === state.me.uid && chat.status === 2);
  renderWindow();
  if (!$("labels-panel").hidden) renderLabelsPanel();
}

// ------------------------------------------------------------------ composer

const composer = $("composer");
const box = $("message");

composer.addEventListener("submit", (e) => { e.preventDefault(); send(); });

box.addEventListener("keydown", (e) => {
  if (!$("qr-list").hidden && ["ArrowDown", "ArrowUp", "Enter", "Escape", "Tab"].includes(e.key)) {
    if (quickReplyKey(e)) return;
  }
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});

box.addEventListener("input", () => {
  const v = box.value;
  if (v.startsWith("/") && !v.includes("\n")) showQuickReplies(v.slice(1));
  else hideQuickReplies();
});

async function send() {
  const chat = state.chats.get(state.current);
  const text = box.value.trim();
  if (!chat || (!text && !state.attachment)) return;
  const body = state.attachment ? await mediaBody(text) : { type: "text", text };
  if (!body) return;
  if (state.replyTo) body.context = state.replyTo.channelInfo.id;
  box.value = "";
  clearAttachment();
  cancelReply();
  await sendBody(chat._id, body);
}

async function sendBody(chatId, body, existing) {
  const tmpSendId = existing ? existing.tmpSendId : `web-${Date.now().toString(36)}-${++state.pendingSeq}`;
  const pending = existing || {
    _id: `pending-${tmpSendId}`, pending: true, local: true, tmpSendId, direction: "outgoing", parent_chat: chatId,
    status: 0, timestamp: Date.now(), type: body.type, text: body.text,
    media: body.media ? body.media.map((m) => ({ ...m, fileId: undefined })) : undefined, context: body.context,
  };
  pending.sendError = null;
  pending.body = body;
  state.messages.set(pending._id, pending);
  renderMessages({ stickToBottom: true });
  try {
    const answer = await post(`/messages/send/${chatId}`, { ...body, tmpSendId });
    state.messages.delete(pending._id);
    if (chatId === state.current) {
      for (const m of answer.messages || []) if (!state.messages.has(m._id) || state.messages.get(m._id).status <= m.status) state.messages.set(m._id, m);
      renderMessages({ stickToBottom: true });
    }
  } catch (err) {
    pending.sendError = err.message || "Not sent";
    renderMessages();
  }
}

function retry(m) {
  sendBody(m.parent_chat, m.body, m);
}

async function mediaBody(caption) {
  const file = state.attachment;
  const form = new FormData();
  form.append("file", file, file.name);
  let uploaded;
  try {
    uploaded = await api("POST", "/files", undefined, { form });
  } catch (err) {
    showActionError(err);
    return null;
  }
  const type = file.type || uploaded.contentType || "";
  const mediaType = type.startsWith("image/") ? "image" : type.startsWith("video/") ? "video"
    : type.startsWith("audio/") ? "audio" : "document";
  const item = { mediaType, fileId: uploaded.fileId };
  if (caption && mediaType !== "audio") item.caption = caption;
  if (mediaType === "document") item.filename = file.name;
  return { type: "media", media: [item] };
}

$("attach").addEventListener("change", () => {
  const file = $("attach").files[0];
  if (!file) return;
  state.attachment = file;
  $("attachment-name").textContent = `Attachment: ${file.name} (the message becomes its caption)`;
  $("attachment").hidden = false;
  box.focus();
});
$("attachment-remove").addEventListener("click", clearAttachment);

function clearAttachment() {
  state.attachment = null;
  $("attach").value = "";
  $("attachment").hidden = true;
}

function startReply(m) {
  state.replyTo = m;
  $("replying-text").textContent = `Replying to: ${m.text || previewText(m) || m.type}`;
  $("replying").hidden = false;
  box.focus();
}

function cancelReply() {
  state.replyTo = null;
  $("replying").hidden = true;
}
$("replying-cancel").addEventListener("click", cancelReply);

// Quick replies: the button or "/" at the start of the box; a single text fills the box, the
// others are sent as they are (Send Quick Reply to Chat).
function quickReplyTitle(q) {
  const first = q.send.contents[0] || {};
  return (q.display && q.display.title) || first.text || first.type;
}

function availableQuickReplies(filter) {
  const chat = state.chats.get(state.current);
  const term = filter.toLowerCase();
  return state.quickReplies.filter((q) => {
    const targets = q.send.target || [];
    const forChat = !chat || targets.some((t) => (!t.id || t.id === chat._id) && (!chat.channelInfo || t.accountId === chat.channelInfo.accountId));
    const text = `${quickReplyTitle(q)} ${(q.send.contents[0] || {}).text || ""}`.toLowerCase();
    return forChat && (!term || text.includes(term));
  });
}

function showQuickReplies(filter = "") {
  const list = $("qr-list");
  const items = availableQuickReplies(filter);
  list.replaceChildren(...items.map((q, i) => el("li", {
    role: "option", id: `qr-${q._id}`, "aria-selected": i === 0 ? "true" : "false", dir: "auto",
    onmousedown: (e) => { e.preventDefault(); chooseQuickReply(q); },
  }, quickReplyTitle(q))));
  if (!items.length) list.append(el("li", { role: "option", "aria-disabled": "true" }, "No quick replies"));
  list.hidden = false;
  $("qr-button").setAttribute("aria-expanded", "true");
}

function hideQuickReplies() {
  $("qr-list").hidden = true;
  $("qr-button").setAttribute("aria-expanded", "false");
}

function quickReplyKey(e) {
  const options = [...$("qr-list").querySelectorAll('[role="option"]:not([aria-disabled])')];
  if (e.key === "Escape") { hideQuickReplies(); e.preventDefault(); return true; }
  if (!options.length) return false;
  let i = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    i = (i + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, j) => o.setAttribute("aria-selected", String(i === j)));
    e.preventDefault();
    return true;
  }
  if (e.key === "Enter" || e.key === "Tab") {
    e.preventDefault();
    const q = state.quickReplies.find((x) => `qr-${x._id}` === options[Math.max(i, 0)].id);
    if (q) chooseQuickReply(q);
    return true;
  }
  return false;
}

async function chooseQuickReply(q) {
  hideQuickReplies();
  const contents = q.send.contents;
  if (contents.length === 1 && contents[0].type === "text" && !contents[0].buttons && !contents[0].list) {
    box.value = contents[0].text;
    box.focus();
    return;
  }
  box.value = "";
  try {
    const answer = await post(`/quick-replies/${q._id}/send/${state.current}`);
    for (const m of answer.messages || []) state.messages.set(m._id, m);
    renderMessages({ stickToBottom: true });
  } catch (err) { showActionError(err); }
}

$("qr-button").addEventListener("click", () => {
  if ($("qr-list").hidden) showQuickReplies(""); else hideQuickReplies();
});

// ------------------------------------------------------------------ templates (window closed)

function bodyText(localization) {
  const body = (localization.components || []).find((c) => (c.type || "").toUpperCase() === "BODY");
  return body ? body.text || "" : "";
}

function variables(text) {
  return [...new Set([...text.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

function approvedChoices(chat) {
  const choices = [];
  for (const t of state.templates || []) {
    if (chat.channelInfo && t.channelInfo && t.channelInfo.accountId.replace(/^\+/, "") !== chat.channelInfo.accountId) continue;
    for (const loc of (t.provider_template && t.provider_template.localizations) || []) {
      if (loc.status === "APPROVED") choices.push({ template: t, loc });
    }
  }
  return choices;
}

$("open-template").addEventListener("click", async () => {
  const chat = state.chats.get(state.current);
  try { state.templates = await get("/whatsapp/templates"); } catch (err) { showActionError(err); return; }
  const choices = approvedChoices(chat);
  const select = $("template-select");
  select.replaceChildren(...choices.map((c, i) => el("option", { value: String(i) }, `${c.template.title || c.template.name} (${c.loc.language})`)));
  select.onchange = () => renderTemplateParams(choices[Number(select.value)]);
  $("template-error").textContent = choices.length ? "" : "No approved template for this number.";
  renderTemplateParams(choices[0]);
  $("template-dialog").showModal();
  $("template-submit").onclick = async (e) => {
    e.preventDefault();
    const choice = choices[Number(select.value)];
    if (!choice) return;
    const values = [...$("template-params").querySelectorAll("input")].map((i) => i.value);
    try {
      await post("/whatsapp/templates/send", {
        templateName: choice.template.name, language: choice.loc.language,
        from: chat.channelInfo.accountId, to: chat.clientPhoneE164, body: values,
      });
      $("template-dialog").close();
    } catch (err) {
      $("template-error").textContent = err.message;
    }
  };
});

function renderTemplateParams(choice) {
  const holder = $("template-params");
  holder.replaceChildren();
  if (!choice) { $("template-preview").textContent = ""; return; }
  const text = bodyText(choice.loc);
  for (const n of variables(text)) {
    const id = `tpl-param-${n}`;
    holder.append(el("label", { for: id }, `{{${n}}}`), el("input", { id, dir: "auto", oninput: preview }));
  }
  function preview() {
    const values = [...holder.querySelectorAll("input")].map((i) => i.value);
    const ns = variables(text);
    $("template-preview").textContent = text.replace(/\{\{(\d+)\}\}/g, (m, d) => values[ns.indexOf(Number(d))] || m);
  }
  preview();
}

// ------------------------------------------------------------------ chat actions

function showActionError(err) {
  $("action-error").textContent = err ? err.message || String(err) : "";
}

async function act(fn) {
  showActionError(null);
  try { const chat = await fn(); if (chat && chat._id) upsertChat(chat); } catch (err) { showActionError(err); }
}

$("act-take").addEventListener("click", () => act(() => post(`/chats/${state.current}/take`, {})));

$("act-resolve").addEventListener("click", () => openResolve());
function openResolve() {
  if (!state.current) return;
  $("resolve-notify").checked = false;
  $("resolve-error").textContent = "";
  $("resolve-dialog").showModal();
}
$("resolve-submit").addEventListener("click", async (e) => {
  e.preventDefault();
  try {
    const answer = await post(`/chats/${state.current}/resolve`, { notifyClient: $("resolve-notify").checked });
    $("resolve-dialog").close();
    const note = answer && answer.notification;
    if (note && !note.sent) $("action-error").textContent = `Resolved; the customer was not notified: ${note.reason || note.code}`;
  } catch (err) { $("resolve-error").textContent = err.message; }
});

$("act-assign").addEventListener("click", async () => {
  $("assign-error").textContent = "";
  if (can("Manage agents")) {
    try {
      state.agents = (await get("/agents")).agents || [];
    } catch (err) { $("assign-error").textContent = err.message; }
  }
  const chat = state.chats.get(state.current);
  fillSelect($("assign-agent"), state.agents.filter((a) => a.active).map((a) => [a.uid, a.displayName || a.email]), "(no agent)");
  fillSelect($("assign-department"), state.departments.map((d) => [d.id || d._id, d.name]), "(keep)");
  $("assign-agent").value = (chat.agent && chat.agent.uid) || "";
  $("assign-dialog").showModal();
});
$("assign-submit").addEventListener("click", async (e) => {
  e.preventDefault();
  const body = { chatId: state.current };
  if ($("assign-agent").value) body.agentUid = $("assign-agent").value;
  if ($("assign-department").value) body.departmentId = $("assign-department").value;
  try {
    const chat = await post("/chats/assign", body);
    if (chat && chat._id) upsertChat(chat);
    $("assign-dialog").close();
  } catch (err) { $("assign-error").textContent = err.message; }
});

$("act-labels").addEventListener("click", () => {
  const panel = $("labels-panel");
  panel.hidden = !panel.hidden;
  $("act-labels").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) renderLabelsPanel();
});

function renderLabelsPanel() {
  const chat = state.chats.get(state.current);
  const panel = $("labels-panel");
  panel.replaceChildren(...state.labels.filter((l) => !l.system).map((l) => el("label", {},
    el("input", {
      type: "checkbox", checked: (chat.labels || []).includes(l.id),
      onchange: (e) => act(async () => {
        await post(`/chats/${chat._id}/labels`, e.target.checked ? { add: [l.id] } : { remove: [l.id] });
      }),
    }), ` ${l.name}`)));
  if (!panel.children.length) panel.append(el("span", { class: "quiet" }, "No labels yet."));
}

$("act-details").addEventListener("click", () => {
  const panel = $("details");
  panel.hidden = !panel.hidden;
  $("act-details").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) renderDetails();
});

function crmRow(key = "", value = "") {
  return el("div", { class: "crm-row" },
    el("input", { "aria-label": "CRM key", value: key, dir: "auto" }),
    el("input", { "aria-label": key ? `CRM value ${key}` : "CRM value", value: typeof value === "string" ? value : JSON.stringify(value), dir: "auto" }),
    el("button", { type: "button", "aria-label": "Remove field", onclick: (e) => e.target.closest(".crm-row").remove() }, "×"));
}

function renderDetails() {
  const chat = state.chats.get(state.current);
  $("d-name").value = chat.displayName || "";
  $("d-bot").checked = Boolean(chat.externalBot);
  const link = safeLink(chat.crmDeepLink);
  $("d-link").replaceChildren(link ? el("a", { href: link, target: "_blank", rel: "noopener" }, "CRM link") : el("span", { class: "quiet" }, "No CRM link"));
  $("d-crm").replaceChildren(...Object.entries(chat.crmData || {}).map(([k, v]) => crmRow(k, v)));
  $("d-status").textContent = "";
}

$("d-crm-add").addEventListener("click", () => { $("d-crm").append(crmRow()); $("d-crm").lastChild.querySelector("input").focus(); });

$("d-bot").addEventListener("change", () => act(() => patch(`/chats/${state.current}`, { externalBot: $("d-bot").checked })));

$("details-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const chat = state.chats.get(state.current);
  const crm = {};
  for (const row of $("d-crm").querySelectorAll(".crm-row")) {
    const [k, v] = row.querySelectorAll("input");
    if (k.value.trim()) crm[k.value.trim()] = v.value;
  }
  const body = { crmData: crm };
  const name = $("d-name").value.trim();
  if (name && name !== (chat.displayName || "")) body.displayName = name;
  try {
    const updated = await patch(`/chats/${chat._id}`, body);
    if (updated && updated._id) upsertChat(updated);
    $("d-status").textContent = "Saved";
  } catch (err) { $("d-status").textContent = err.message; }
});

// ------------------------------------------------------------------ keyboard

document.addEventListener("keydown", (e) => {
  const target = e.target;
  if (target.closest && target.closest("input, textarea, select, dialog")) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "j" || e.key === "k") {
    const i = state.order.indexOf(state.current);
    const next = state.order[e.key === "j" ? Math.min(i + 1, state.order.length - 1) : Math.max(i - 1, 0)];
    if (next) { openChat(next); e.preventDefault(); }
  } else if (e.key === "e" && state.current) {
    openResolve(); e.preventDefault();
  } else if (e.key === "/" && state.current && !$("composer").hidden) {
    box.focus(); e.preventDefault();
  }
});

// ------------------------------------------------------------------ settings (admins)

$("open-settings").addEventListener("click", async () => {
  const { openSettings } = await import("./settings.js");
  openSettings({ state, reload: async () => { await Promise.all([loadLabels(), loadDepartments(), loadQuickReplies()]); } });
});

export { del };
boot();
