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
let current = null; // { name, section, redraw } of the section on screen

// Live events while Settings is open (app.js forwards each one): an agent's presence changes in
// its row; a channel health problem raised or resolved redraws Channels.
document.addEventListener("inboxd:live", (e) => {
  const dialog = document.getElementById("settings-dialog");
  if (!current || !dialog.open) return;
  const { type, data } = e.detail;
  if (type === "agent.updated" && current.name === "Agents") {
    const cell = current.section.querySelector(`[data-presence-of="${CSS.escape(data.uid)}"]`);
    if (cell) cell.textContent = presenceText(data);
  } else if ((type === "problem.created" || type === "problem.resolved") && current.name === "Channels") {
    current.redraw();
  }
});

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
  current = { name, section, redraw };
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

const presenceText = (a) => (a.active ? a.presence : "inactive");

// A new password for an agent who lost theirs: random, set through Update Agent, shown here once
// (the server keeps only its hash); they sign in with it.
function newPassword() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function agents(section, redraw, error) {
  const [{ agents: list }, { departments: depts }] = await Promise.all([get("/agents"), get("/departments")]);
  const email = el("input", { type: "email" });
  const name = el("input", {});
  const role = el("select", {}, el("option", { value: "agent" }, "agent"), el("option", { value: "admin" }, "admin"));
  const password = el("input", { type: "password", autocomplete: "new-password" });
  const shown = el("div", { role: "status" });
  section.append(el("form", { class: "row", "aria-label": "New agent", onsubmit: guard(error, async () => {
    await post("/agents", { email: email.value, displayName: name.value, roles: [role.value], password: password.value, departments: [] });
    redraw();
  }) }, field("Email", email), field("Name", name), field("Role", role), field("Password", password),
  el("button", { type: "submit" }, "Create agent")), shown);
  section.append(table(["Agent", "Role", "Departments", "Presence", ""], list.map((a) => {
    const roleSelect = el("select", { "aria-label": `Role of ${a.email}`, onchange: guard(error, async (e) => {
      await patch(`/agents/${a.uid}`, { roles: [e.target.value] }); redraw();
    }) }, ["agent", "admin"].map((r) => el("option", { value: r, selected: a.roles.includes(r) }, r)));
    const deptSelect = el("select", { multiple: true, "aria-label": `Departments of ${a.email}`, onchange: guard(error, async (e) => {
      await patch(`/agents/${a.uid}`, { departments: [...e.target.selectedOptions].map((o) => o.value) });
    }) }, depts.map((d) => el("option", { value: d.id, selected: a.departments.includes(d.id) }, d.name)));
    const reset = el("button", { type: "button", "aria-label": `Reset password of ${a.email}`, onclick: guard(error, async () => {
      const secret = newPassword();
      await patch(`/agents/${a.uid}`, { password: secret });
      shown.replaceChildren(el("p", {}, `New password for ${a.email} — give it to them now, it is not shown again:`),
        el("p", { class: "secret", "aria-label": "New password" }, secret));
    }) }, "Reset password");
    const active = el("button", { type: "button", "aria-label": `${a.active ? "Deactivate" : "Activate"} ${a.email}`,
      onclick: guard(error, async () => { await patch(`/agents/${a.uid}`, { active: !a.active }); redraw(); }) },
    a.active ? "Deactivate" : "Activate");
    return [`${a.displayName} <${a.email}>`, roleSelect, deptSelect, el("span", { "data-presence-of": a.uid }, presenceText(a)),
      el("span", {}, reset, " ", active)];
  })));
}

// ------------------------------------------------------------------ departments

async function departments(section, redraw, error) {
  const [{ departments: list }, { agents: people }] = await Promise.all([get("/departments"), get("/agents")]);
  const id = el("input", { pattern: "[a-z0-9_-]+" });
  const name = el("input", {});
  const policy = () => el("select", {}, el("option", { value: "manual" }, "manual"), el("option", { value: "round_robin" }, "round robin"));
  const assignment = policy();
  section.append(el("form", { class: "row", "aria-label": "New department", onsubmit: guard(error, async () => {
    await post("/departments", { id: id.value, name: name.value, assignment: assignment.value }); redraw();
  }) }, field("Department id", id), field("Department name", name), field("Assignment policy", assignment),
  el("button", { type: "submit" }, "Create department")));
  section.append(table(["Department", "Assignment", "Members", ""], list.map((d) => {
    const select = policy();
    select.value = d.assignment;
    select.setAttribute("aria-label", `Assignment policy of ${d.name}`);
    select.addEventListener("change", guard(error, async () => { await patch(`/departments/${d.id}`, { assignment: select.value }); }));
    const members = el("select", { multiple: true, "aria-label": `Members of ${d.name}`, onchange: guard(error, async (e) => {
      await patch(`/departments/${d.id}`, { members: [...e.target.selectedOptions].map((o) => o.value) });
    }) }, people.filter((a) => a.active || d.members.includes(a.uid)).map((a) => el("option", {
      value: a.uid, selected: d.members.includes(a.uid) }, a.displayName || a.email)));
    return [`${d.name} (${d.id})`, select, members, el("button", { type: "button", onclick: guard(error, async () => {
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
  section.append(table(["Label", "Name", "Color", ""], list.map((l) => [l.id,
    el("input", { value: l.name, dir: "auto", "aria-label": `Name of ${l.name}`, onchange: guard(error, async (e) => {
      if (e.target.value.trim()) { await patch(`/labels/${l.id}`, { name: e.target.value.trim() }); redraw(); }
    }) }),
    el("input", { type: "color", value: l.color, "aria-label": `Color of ${l.name}`, onchange: guard(error, async (e) => {
      await patch(`/labels/${l.id}`, { color: e.target.value });
    }) }),
    l.system ? "system" :
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
  section.append(table(["Quick reply", "Sends", ""], list.map((q) => {
    const label = (q.display && q.display.title) || "(untitled)";
    const editTitle = el("input", { value: (q.display && q.display.title) || "", dir: "auto", "aria-label": `Title of ${label}` });
    // a single text can be edited here; anything else (buttons, media, several messages) is shown as it is
    const single = q.send.contents.length === 1 && q.send.contents[0].type === "text" ? q.send.contents[0] : null;
    const editText = single ? el("textarea", { rows: 2, dir: "auto", "aria-label": `Text of ${label}`, value: single.text }) : null;
    const save = el("form", { class: "row", "aria-label": `Edit ${label}`, onsubmit: guard(error, async () => {
      const ops = [{ updateDisplayTitle: editTitle.value.trim() || null }];
      if (editText) ops.push({ updateSendContents: [{ ...single, text: editText.value }] });
      await patch(`/quick-replies/${q._id}`, ops); redraw();
    }) }, editTitle, " ", editText || el("span", { dir: "auto" }, q.send.contents.map((c) => c.text || c.type).join(" · ")),
    " ", el("button", { type: "submit" }, `Save ${label}`));
    return [label, save, el("button", { type: "button", onclick: guard(error, async () => {
      await del(`/quick-replies/${q._id}`); redraw();
    }) }, `Delete ${label}`)];
  })));
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
  section.append(table(["Account", "Health", "Sandbox"], list.map((a) => [`+${a.accountId}`, healthText(a.health),
    a.sandbox ? "yes" : ""])));
  section.append(el("h4", {}, "Health problems"));
  const open = problems.filter((p) => !p.resolvedAt);
  if (!open.length) section.append(el("p", { class: "quiet" }, "No open problems."));
  else section.append(table(["Problem", "Account", "Since", ""], open.map((p) => [
    el("span", {}, el("strong", {}, `${p.severity}: ${p.name}`), el("br"), p.message, el("br"), el("span", { class: "quiet" }, p.instruction)),
    `+${p.accountId}`, new Date(p.startedAt || p.createdAt).toLocaleString(),
    el("button", { type: "button", "aria-label": `Resolve ${p.name}`, onclick: guard(error, async () => {
      await post(`/channels/problems/${p._id}/resolve`); redraw();
    }) }, "Resolve")])));
}

function healthText(health) {
  if (!health) return "";
  const open = health.openProblems ? ` (${health.errors} errors, ${health.warnings} warnings)` : "";
  return `${health.status}${open}${health.qualityRating ? ` · quality ${health.qualityRating}` : ""}`;
}

// ------------------------------------------------------------------ event subscriptions

async function subscriptions(section, redraw, error) {
  const { scenarios } = await get("/scenarios/manage");
  if (!scenarios.length) section.append(el("p", { class: "quiet" }, "No event subscriptions (docs/events.md)."));
  section.append(table(["Subscription", "Status", "Runs"], scenarios.map((s) => {
    const { name, status } = scenarioSummary(s);
    const runs = el("div", {});
    return [name, status, el("span", {}, el("button", { type: "button", onclick: guard(error, async () => {
      const { runs: list } = await get(`/scenarios/manage/${s._id}/runs`);
      runs.replaceChildren(list.length ? el("div", { role: "region", "aria-label": `Runs of ${name}` },
        table(["Event", "Status", "When", "Answer"], list.map((r) => [r.triggerEvent, r.status, new Date(r.created).toLocaleString(),
          r.lastError || (r.lastStatusCode ? `HTTP ${r.lastStatusCode}` : "")])))
        : el("p", { class: "quiet" }, "No runs yet."));
    }) }, `Runs of ${name}`), runs)];
  })));
}

// A scenario's name and status are its revisions' (docs/events.md: the active one, else the
// latest inactive one, else its draft).
function scenarioSummary(s) {
  const inactive = s.inactiveRevisions || [];
  const latest = inactive.reduce((a, b) => (!a || (b.version || 0) > (a.version || 0) ? b : a), null);
  const revision = s.activeRevision || latest || (s.drafts || [])[0] || {};
  const status = s.activeRevision ? "active" : inactive.length ? "inactive" : "draft";
  return { name: revision.name || s._id, status };
}
