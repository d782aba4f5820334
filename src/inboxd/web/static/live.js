// The live stream (docs/live.md): opened after the lists were loaded, from the smallest
// `lastEventId` they returned; every event is an upsert by `_id`, so one seen twice changes
// nothing. EventSource reconnects by itself with Last-Event-ID; when the browser gives up
// (offline, a server restart answered with an error) we open a new one from the last id we
// applied. A `resync` means the log cannot replay: the page reloads its lists.
import { API } from "./api.js";

const TYPES = ["message.created", "message.updated", "chat.created", "chat.updated", "agent.updated",
  "problem.created", "problem.resolved", "label.updated", "label.deleted", "quick_reply.updated", "quick_reply.deleted"];

export class Live {
  constructor({ onEvent, onResync, onState }) {
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.onState = onState || (() => {});
    this.lastId = 0;
    this.source = null;
    this.timer = null;
    window.addEventListener("online", () => this.reopen());
  }

  start(after) {
    this.lastId = Math.max(this.lastId, after || 0);
    this.open();
  }

  open() {
    this.close();
    const source = new EventSource(`${API}/live?after=${this.lastId}`, { withCredentials: true });
    this.source = source;
    const handle = (e) => {
      const id = Number(e.lastEventId);
      if (id && id <= this.lastId) return; // already applied (a replay overlapping the lists)
      if (id) this.lastId = id;
      this.onEvent(e.type, JSON.parse(e.data));
    };
    for (const type of TYPES) source.addEventListener(type, handle);
    source.addEventListener("resync", (e) => {
      const data = JSON.parse(e.data);
      this.lastId = Number(e.lastEventId) || data.lastEventId || this.lastId;
      this.onResync(data);
    });
    source.onopen = () => this.onState("open");
    source.onerror = () => {
      this.onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) { this.onState("closed"); this.later(); }
    };
  }

  later() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), 2000);
  }

  reopen() {
    if (!this.source || this.source.readyState !== EventSource.OPEN) this.open();
  }

  close() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
