// DOM rendering. Lists are reconciled by key so that screen readers hear only new messages.
import type { PresenceDto, UserProfileDto } from "./hub";
import { type ChatState, type Conversation, type Message, type Tick } from "./state";

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`#${id} is missing from index.html`);
  }
  return el as T;
};

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) {
    e.className = className;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const tickText: Record<Tick, [string, string]> = {
  pending: ["…", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
};

/** What the renderer needs besides the conversation model. */
export interface ViewContext {
  state: ChatState;
  openId: string | null;
  profiles: Map<string, UserProfileDto>;
  presence: Map<string, PresenceDto>;
  typing: Map<string, Map<string, number>>;
}

export function nameOf(ctx: ViewContext, userId: string): string {
  const p = ctx.profiles.get(userId);
  return p?.displayName || p?.userName || userId;
}

export function titleOf(ctx: ViewContext, c: Conversation): string {
  if (c.kind === "direct" && c.peerUserId && ctx.profiles.has(c.peerUserId)) {
    return nameOf(ctx, c.peerUserId);
  }
  return c.title || (c.kind === "group" ? "Group" : "Direct chat");
}

/** "online", "last seen 12:03", or "" when unknown or hidden. */
export function presenceText(ctx: ViewContext, userId: string): string {
  const p = ctx.presence.get(userId);
  if (!p || !p.visible) {
    return "";
  }
  if (p.online) {
    return "online";
  }
  return p.lastSeen ? `last seen ${timeOf(p.lastSeen)}` : "offline";
}

export function renderConversationList(ctx: ViewContext, list: HTMLUListElement): void {
  const focused = (document.activeElement as HTMLElement | null)?.dataset?.conversationId;
  list.replaceChildren(
    ...ctx.state.sorted().map((c) => {
      const li = el("li");
      const button = el("button", "conv");
      button.type = "button";
      button.dataset.conversationId = c.id;
      if (c.id === ctx.openId) {
        button.setAttribute("aria-current", "true");
      }
      if (c.kind === "direct" && c.peerUserId) {
        const status = presenceText(ctx, c.peerUserId);
        if (status) {
          const dot = el("span", "presence-dot");
          dot.dataset.online = String(status === "online");
          dot.setAttribute("role", "img");
          dot.setAttribute("aria-label", status);
          dot.title = status;
          button.append(dot);
        }
      }
      button.append(el("span", "conv-title", titleOf(ctx, c)));
      if (c.unread > 0) {
        const badge = el("span", "unread", String(c.unread));
        badge.setAttribute("aria-label", `${c.unread} unread`);
        button.append(badge);
      }
      const last = c.lastMessage;
      const preview = last ? (last.senderId === ctx.state.me ? "You: " : c.kind === "group" ? `${nameOf(ctx, last.senderId)}: ` : "") +
        (last.text || (last.attachment ? `📎 ${last.attachment.fileName || "attachment"}` : "")) : "No messages yet";
      button.append(el("span", "conv-last", preview));
      li.append(button);
      return li;
    }),
  );
  if (focused) {
    list.querySelector<HTMLElement>(`[data-conversation-id="${CSS.escape(focused)}"]`)?.focus();
  }
}

/** Feature modules add to each shown message (quote, attachment, reactions, menu); called on every render. */
export const messageHooks: ((ctx: ViewContext, c: Conversation, m: Message, li: HTMLLIElement) => void)[] = [];

function ordered(c: Conversation): Message[] {
  return [...c.messages.values()].sort((a, b) => (a.pending ? 1 : 0) - (b.pending ? 1 : 0) || a.seq - b.seq || a.sentAt.localeCompare(b.sentAt));
}

function fillMessage(ctx: ViewContext, c: Conversation, m: Message, li: HTMLLIElement): void {
  const mine = m.senderId === ctx.state.me;
  li.className = `msg ${mine ? "mine" : "theirs"}`;
  li.dataset.msgId = m.msgId;
  li.dataset.seq = String(m.seq);
  if (!li.firstChild) {
    if (!mine && c.kind === "group") {
      li.append(el("span", "sender"));
    }
    li.append(el("p", "text"));
    const meta = el("span", "meta");
    const time = el("time", undefined, timeOf(m.sentAt));
    time.dateTime = m.sentAt;
    meta.append(time);
    li.append(meta);
  }
  // A sender's name can arrive after the message: it is filled in on every render.
  const sender = li.querySelector<HTMLElement>(".sender");
  if (sender) {
    sender.textContent = nameOf(ctx, m.senderId);
  }
  // Edits, deletes and reactions change a shown message in place.
  li.querySelector(".text")!.textContent = m.deleted ? "This message was deleted." : m.editedAt ? `${m.text} (edited)` : m.text;
  li.classList.toggle("deleted", !!m.deleted);
  messageHooks.forEach((hook) => hook(ctx, c, m, li));
  const meta = li.querySelector(".meta")!;
  if (!mine) {
    return;
  }
  const tick = ctx.state.tick(c, m);
  let tickEl = meta.querySelector<HTMLElement>(".tick");
  if (!tickEl) {
    tickEl = el("span", "tick");
    tickEl.setAttribute("role", "img");
    meta.append(tickEl);
  }
  tickEl.dataset.status = tick;
  tickEl.textContent = tickText[tick][0];
  tickEl.setAttribute("aria-label", tickText[tick][1]);
  if (c.kind === "group" && m.seq > 0) {
    const { read, of } = ctx.state.readBy(c, m.seq);
    let readBy = meta.querySelector<HTMLElement>(".read-by");
    if (!readBy) {
      readBy = el("span", "read-by");
      meta.append(readBy);
    }
    readBy.textContent = `read by ${read}/${of}`;
  }
}

/** Brings the message list in line with the model, keeping existing nodes (and the scroll position). */
export function renderMessages(ctx: ViewContext, c: Conversation | undefined, list: HTMLOListElement): void {
  if (!c) {
    list.replaceChildren();
    return;
  }
  if (list.dataset.conversationId !== c.id) {
    list.replaceChildren();
    list.dataset.conversationId = c.id;
  }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const firstBefore = list.firstElementChild as HTMLElement | null;
  const offsetBefore = firstBefore ? firstBefore.offsetTop - list.scrollTop : 0;
  const existing = new Map<string, HTMLLIElement>();
  for (const li of Array.from(list.children) as HTMLLIElement[]) {
    existing.set(li.dataset.msgId ?? "", li);
  }
  const wanted = ordered(c);
  const keep = new Set(wanted.map((m) => m.msgId));
  for (const [key, li] of existing) {
    if (!keep.has(key)) {
      li.remove();
    }
  }
  wanted.forEach((m, i) => {
    const li = existing.get(m.msgId) ?? el("li");
    fillMessage(ctx, c, m, li);
    if (list.children[i] !== li) {
      list.insertBefore(li, list.children[i] ?? null);
    }
  });
  if (atBottom) {
    list.scrollTop = list.scrollHeight;
  } else if (firstBefore?.isConnected) {
    // Older messages were prepended: keep what the user was looking at in place.
    list.scrollTop = firstBefore.offsetTop - offsetBefore;
  }
}

export function typingText(ctx: ViewContext, conversationId: string): string {
  const now = Date.now();
  const who = [...(ctx.typing.get(conversationId) ?? new Map<string, number>()).entries()]
    .filter(([userId, until]) => until > now && userId !== ctx.state.me)
    .map(([userId]) => nameOf(ctx, userId));
  if (who.length === 0) {
    return "";
  }
  return who.length === 1 ? `${who[0]} is typing…` : `${who.join(", ")} are typing…`;
}
