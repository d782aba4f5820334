// Settings (admins only; the server refuses the calls to anyone else anyway): agents,
// departments, labels, quick replies, API tokens, channels with their health problems, event
// subscriptions with their runs — each a section on the public REST API.
import { del, get, patch, post } from "./api.js";
import { el } from "./render.js";

const SECTIONS = {
  Agents: agents, Departments: departments, Labels: labels, "Quick replies": quickReplies,
  "API tokens": tokens, Channels: channels, "Event subscriptions": subscriptions,
};

let ctx = null;

export function openSettings(context) {
  ctx = context;
  const dialog = document.getElementById("settings-dialog");
  const body = el("div", { class: "settings-body" });
  const tabs = el("div", { class: "views", role: "group", "aria-label": "Settings sections" },
    Object.keys(SECTIONS).map((name) => el("button", {
      type: "button", "aria-pressed": "false",
      onclick: (e) => {
        for (const b of tabs.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === e.currentTarget));
        show(body, name);
      },
    }, name)));
  dialog.replaceChildren(
    el("h2", { id: "settings-title" }, "Settings"), tabs, body,
    el("div", { class: "dialog-buttons" }, el("button", { type: "button", onclick: () => { dialog.close(); ctx.reload(); } }, "Close settings")));
  dialog.showModal();
  tabs.querySelector("button").click();
}

async function show(body, name) {
  const section = el("section", { "aria-label": name }, el("h3", {}, name));
  const error = el("p", { class: "error", role: "alert" });
  section.append(error);
  body.replaceChildren(section);
  const redraw = () => show(body, name);
  try {
    await SECTIONS[name](section, redraw, error);
  } catch (err) {
    error.textContent = err.message;
  }
}

function guard(error, fn) {
  return async (e) => {
    if (e && e.preventDefault) e.preventDefault();
    error.textContent = "";
    try { await fn(e); } catch (err) { error.textContent = err.message; }
  };
}

function field(label, input) {
  const id = `s-${label.replace(/\W+/g, "-").toLowerCase()}-${Math.random().toString(36).slice(2, 7)}`;
  input.id = id;
  return el("span", { class: "field" }, el("label", { for: id }, label), " ", input);
}

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", { dir: "auto" }, c))))));
}

// ------------------------------------------------------------------ agents

async function agents(section, redraw, error) {
  const [{ agents: list }, { departments: depts }] = await Promise.all([get("/agents"), get("/departments")]);
  const email = el("input", { type: "email" });
  const name = el("input", {});
  const role = el("select", {}, el("option", { value: "agent" }, "agent"), el("option", { value: "admin" }, "admin"));
  const password = el("input", { type: "password", autocomplete: "new-password" });
  section.append(el("form", { class: "row", "aria-label": "New agent", onsubmit: guard(error, async () => {
    await post("/agents", { email: email.value, displayName: name.value, roles: [role.value], password: password.value, departments: [] });
    redraw();
  }) }, field("Email", email), field("Name", name), field("Role", role), field("Password", password),
  el("button", { type: "submit" }, "Create agent")));
  section.append(table(["Agent", "Role", "Departments", "Presence", ""], list.map((a) => {
    const roleSelect = el("select", { "aria-label": `Role of ${a.email}`, onchange: guard(error, async (e) => {
      await patch(`/agents/${a.uid}`, { roles: [e.target.value] }); redraw();
    }) }, ["agent", "admin"].map((r) => el("option", { value: r, selected: a.roles.includes(r) }, r)));
    const deptSelect = el("select", { multiple: true, "aria-label": `Departments of ${a.email}`, onchange: guard(error, async (e) => {
      await patch(`/agents/${a.uid}`, { departments: [...e.target.selectedOptions].map((o) => o.value) });
    }) }, depts.map((d) => el("option", { value: d.id, selected: a.departments.includes(d.id) }, d.name)));
    const reset = el("button", { type: "button", onclick: guard(error, async () => {
      const secret = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
      await patch(`/agents/${a.uid}`, { password: secret });
      section.append(el("p", { class: "secret", role: "status" }, `New password for ${a.email} (shown once): ${secret}`));
    }) }, "Reset password");
    const active = el("button", { type: "button", onclick: guard(error, async () => {
      await patch(`/agents/${a.uid}`, { active: !a.active }); redraw();
    }) }, a.active ? "Deactivate" : "Activate");
    return [`${a.displayName} <${a.email}>`, roleSelect, deptSelect, a.active ? a.presence : "inactive",
      el("span", {}, reset, " ", active)];
  })));
}

// ------------------------------------------------------------------ departments

async function departments(section, redraw, error) {
  const { departments: list } = await get("/departments");
  const id = el("input", { pattern: "[a-z0-9_-]+" });
  const name = el("input", {});
  const policy = () => el("select", {}, el("option", { value: "manual" }, "manual"), el("option", { value: "round_robin" }, "round robin"));
  const assignment = policy();
  section.append(el("form", { class: "row", "aria-label": "New department", onsubmit: guard(error, async () => {
    await post("/departments", { id: id.value, name: name.value, assignment: assignment.value }); redraw();
  }) }, field("Department id", id), field("Department name", name), field("Assignment policy", assignment),
  el("button", { type: "submit" }, "Create department")));
  section.append(table(["Department", "Assignment", ""], list.map((d) => {
    const select = policy();
    select.value = d.assignment;
    select.setAttribute("aria-label", `Assignment policy of ${d.name}`);
    select.addEventListener("change", guard(error, async () => { await patch(`/departments/${d.id}`, { assignment: select.value }); }));
    return [`${d.name} (${d.id})`, select, el("button", { type: "button", onclick: guard(error, async () => {
      await del(`/departments/${d.id}`); redraw();
    }) }, `Delete ${d.name}`)];
  })));
}

// ------------------------------------------------------------------ labels

async function labels(section, redraw, error) {
  const { labels: list } = await get("/labels");
  const id = el("input", {});
  const name = el("input", {});
  const color = el("input", { type: "color", value: "#0b6e4f" });
  section.append(el("form", { class: "row", "aria-label": "New label", onsubmit: guard(error, async () => {
    await post("/labels", { id: id.value, name: name.value, color: color.value }); redraw();
  }) }, field("Label id", id), field("Label name", name), field("Color", color), el("button", { type: "submit" }, "Create label")));
  section.append(table(["Label", ""], list.map((l) => [`${l.name} (${l.id})`, l.system ? "system" :
    el("button", { type: "button", onclick: guard(error, async () => { await del(`/labels/${l.id}`); redraw(); }) }, `Delete ${l.name}`)])));
}

// ------------------------------------------------------------------ quick replies

async function quickReplies(section, redraw, error) {
  const [{ quickReplies: list }, { channels: accounts }] = await Promise.all([get("/quick-replies"), get("/channels")]);
  const title = el("input", {});
  const text = el("textarea", { rows: 2, dir: "auto" });
  section.append(el("form", { class: "row", "aria-label": "New quick reply", onsubmit: guard(error, async () => {
    await post("/quick-replies", {
      send: { contents: [{ type: "text", text: text.value }], target: accounts.map((a) => ({ name: "whatsapp", accountId: a.accountId })) },
      display: { title: title.value || undefined },
    });
    redraw();
  }) }, field("Title", title), field("Text", text), el("button", { type: "submit" }, "Create quick reply")));
  section.append(table(["Quick reply", "Sends", ""], list.map((q) => [(q.display && q.display.title) || "(untitled)",
    q.send.contents.map((c) => c.text || c.type).join(" · "),
    el("button", { type: "button", onclick: guard(error, async () => { await del(`/quick-replies/${q._id}`); redraw(); }) }, "Delete")])));
}

// ------------------------------------------------------------------ API tokens

async function tokens(section, redraw, error) {
  const { tokens: list } = await get("/tokens");
  const name = el("input", {});
  const all = el("input", { type: "checkbox", checked: true });
  const shown = el("div", { role: "status" });
  section.append(el("form", { class: "row", "aria-label": "New API token", onsubmit: guard(error, async () => {
    const me = await get("/auth/me");
    const answer = await post("/tokens", { name: name.value, scopes: all.checked ? me.scopes : ["List all chats", "View all chats"] });
    shown.replaceChildren(el("p", {}, `Token ${answer.token.name} — copy it now, it is not shown again:`),
      el("p", { class: "secret", "aria-label": "New token secret" }, answer.secret));
    name.value = "";
    section.querySelector("table")?.replaceWith(tokenTable((await get("/tokens")).tokens, redraw, error));
  }) }, field("Token name", name), el("label", {}, all, " All my scopes"), el("button", { type: "submit" }, "Create token")), shown);
  section.append(tokenTable(list, redraw, error));
}

function tokenTable(list, redraw, error) {
  return table(["Token", "Scopes", "Last used", ""], list.map((t) => [t.name, (t.scopes || []).join(", "),
    t.lastUsed ? new Date(t.lastUsed).toLocaleString() : "never",
    t.revoked ? "revoked" : el("button", { type: "button", onclick: guard(error, async () => { await del(`/tokens/${t.id}`); redraw(); }) }, `Revoke ${t.name}`)]));
}

// ------------------------------------------------------------------ channels and health

async function channels(section, redraw, error) {
  const [{ channels: list }, { problems }] = await Promise.all([get("/channels"), get("/channels/problems")]);
  section.append(table(["Account", "Health", "Sandbox"], list.map((a) => [`+${a.accountId}`, a.health || a.status || "", a.sandbox ? "yes" : ""])));
  section.append(el("h4", {}, "Health problems"));
  const open = problems.filter((p) => !p.resolvedAt);
  if (!open.length) section.append(el("p", { class: "quiet" }, "No open problems."));
  else section.append(table(["Problem", "Account", "Since", ""], open.map((p) => [`${p.severity}: ${p.message}`, p.accountId,
    new Date(p.startedAt || p.createdAt).toLocaleString(),
    el("button", { type: "button", onclick: guard(error, async () => { await post(`/channels/problems/${p._id}/resolve`); redraw(); }) }, "Resolve")])));
}

// ------------------------------------------------------------------ event subscriptions

async function subscriptions(section, redraw, error) {
  const { scenarios } = await get("/scenarios/manage");
  if (!scenarios.length) section.append(el("p", { class: "quiet" }, "No event subscriptions (docs/events.md)."));
  section.append(table(["Subscription", "Status", ""], scenarios.map((s) => {
    const runs = el("div", {});
    return [s.name || s._id, s.status || "", el("span", {}, el("button", { type: "button", onclick: guard(error, async () => {
      const { runs: list } = await get(`/scenarios/manage/${s._id}/runs`);
      runs.replaceChildren(list.length ? table(["Event", "Status", "When"], list.map((r) => [r.triggerEvent, r.status,
        new Date(r.created).toLocaleString()])) : el("p", { class: "quiet" }, "No runs yet."));
    }) }, `Runs of ${s.name || s._id}`), runs)];
  })));
}
