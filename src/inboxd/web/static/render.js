// Building DOM from API objects. Customer text only ever goes in through textContent (el(...)
// children that are strings become text nodes), never innerHTML; links only for http(s).
import { post } from "./api.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (key in node && key !== "role" && !key.startsWith("aria") && !key.startsWith("data")) node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const STATUS = { 0: "Pending", 1: "Sent", 2: "Delivered", 3: "Read", 4: "Failed", 5: "Failed", 6: "Deleted" };
const STATUS_MARK = { 0: "…", 1: "✓", 2: "✓✓", 3: "✓✓", 4: "!", 5: "!", 6: "×" };
export const CHAT_STATUS = { 0: "Bot", 1: "Pending", 2: "Assigned", 3: "Resolved", 4: "Bulk" };

export function chatName(chat) {
  return chat.displayName || chat.title || chat.clientPhone || chat.clientPhoneE164 || "";
}

export function safeLink(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

export function shortTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString([], { day: "numeric", month: "short" });
}

export function previewText(last) {
  if (!last) return "";
  if (last.text) return last.text;
  return { media: "📎 Media", location: "📍 Location", contacts: "👤 Contact", template: "Template" }[last.type] || last.type;
}

// Media: a public link per file (Generate Public Media URL), asked once per file.
const shared = new Map();
function mediaUrl(item) {
  if (item.url && !item.fileId) return Promise.resolve(safeLink(item.url));
  if (!item.fileId) return Promise.resolve(null);
  if (!shared.has(item.fileId)) {
    shared.set(item.fileId, post(`/files/share/${item.fileId}`).then((r) => new URL(r.url, location.href).pathname)
      .catch(() => null));
  }
  return shared.get(item.fileId);
}

function mediaNode(item) {
  const kind = item.mediaType || "document";
  const label = item.filename || item.caption || kind;
  let node;
  if (kind === "image" || kind === "sticker") node = el("img", { alt: item.caption || "Image" });
  else if (kind === "video") node = el("video", { controls: true, "aria-label": "Video" });
  else if (kind === "audio") node = el("audio", { controls: true, "aria-label": "Audio" });
  else node = el("a", { target: "_blank", rel: "noopener" }, `📄 ${label}`);
  mediaUrl(item).then((url) => {
    if (!url) return;
    if (node.tagName === "A") node.href = url; else node.src = url;
  });
  return el("div", { class: "media" }, node, item.caption ? el("p", { class: "caption", dir: "auto" }, item.caption) : null);
}

export function messageBody(m, byWamid) {
  const parts = [];
  if (m.context) {
    const quoted = byWamid(m.context);
    parts.push(el("div", { class: "quote", dir: "auto", "aria-label": "Quoted message" },
      quoted ? (quoted.text || previewText(quoted) || "Message") : "A message"));
  }
  if (m.template) {
    parts.push(el("p", { class: "bubble", dir: "auto" }, m.text || m.template.renderedText || `Template ${m.template.name || ""}`));
  } else if (m.text && m.type !== "media") {
    parts.push(el("p", { class: "bubble", dir: "auto" }, m.text));
  }
  for (const item of m.media || []) parts.push(el("div", { class: "bubble" }, mediaNode(item)));
  if (m.location) {
    const { latitude, longitude, name, address } = m.location;
    const href = `https://www.openstreetmap.org/?mlat=${Number(latitude)}&mlon=${Number(longitude)}`;
    parts.push(el("p", { class: "bubble", dir: "auto" }, "📍 ", el("a", { href, target: "_blank", rel: "noopener" },
      name || `${latitude}, ${longitude}`), address ? ` — ${address}` : ""));
  }
  for (const c of m.contacts || []) {
    const name = (c.name && (c.name.formatted_name || c.name.first_name)) || "Contact";
    const phones = (c.phones || []).map((p) => p.phone).join(", ");
    parts.push(el("p", { class: "bubble", dir: "auto" }, `👤 ${name}${phones ? ` (${phones})` : ""}`));
  }
  if (m.buttons && m.buttons.length) {
    parts.push(el("div", { class: "bubble buttons" }, m.buttons.map((b) => el("span", { class: "button", dir: "auto" }, b.title))));
  }
  if (m.list) {
    const rows = (m.list.sections || []).flatMap((s) => s.rows || []);
    parts.push(el("div", { class: "bubble list" }, el("strong", { dir: "auto" }, m.list.button || "List"),
      el("ul", {}, rows.map((r) => el("li", { dir: "auto" }, r.title)))));
  }
  if (m.postback) {
    parts.push(el("p", { class: "bubble", dir: "auto" }, "↩ ", m.postback.title || m.postback.payload || ""));
  }
  if (m.special) {  // kinds Texter has no type for, kept as WhatsApp sent them (docs/api-decisions.md)
    const kind = m.special.type || "special";
    const reaction = kind === "reaction" ? (m.special.payload || {}).reaction || {} : null;
    parts.push(el("p", { class: "bubble quiet", dir: "auto" },
      reaction ? (reaction.emoji ? `Reacted ${reaction.emoji}` : "Removed a reaction") : `(${kind})`));
  }
  if (!parts.length || (parts.length === 1 && m.context)) parts.push(el("p", { class: "bubble quiet" }, `(${m.type})`));
  if (m.reactions && m.reactions.length) {
    parts.push(el("span", { class: "reactions", "aria-label": "Reactions" }, m.reactions.map((r) => r.emoji).join(" ")));
  }
  return parts;
}

export function statusNode(m) {
  if (m.direction !== "outgoing") return null;
  const name = m.pending ? "Pending" : STATUS[m.status] || "Pending";
  const node = el("span", { class: `status ${name.toLowerCase()}`, role: "img", "aria-label": name, title: name },
    m.pending ? "…" : STATUS_MARK[m.status] || "…");
  return node;
}

export function failureReason(m) {
  const error = m.error || {};
  return error.message || error.title || error.description || error.reason || (typeof m.error === "string" ? m.error : "");
}

const SYSTEM_TEXT = { 0: "Bot", 1: "Waiting for an agent", 2: "Assigned", 3: "Resolved", 4: "Bulk" };
export function systemText(m) {
  let text = SYSTEM_TEXT[m.newChatStatus] || "Status changed";
  if (m.newChatStatus === 2 && m.agent && m.agent.displayName) text = `Assigned to ${m.agent.displayName}`;
  if (m.changedBy && m.changedBy.displayName) text += ` by ${m.changedBy.displayName}`;
  return text;
}
