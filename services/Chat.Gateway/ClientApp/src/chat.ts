// Conversations and messages: the list, history, catch-up by Sync, sending through the outbox.
import { type ConversationPageDto, type ConversationSummaryDto, type GroupChangedDto, type HistoryDto, type MessageAcceptedDto, type MessageDto, type SyncResultDto, type CursorDto } from "./hub";
import { isDraft, type Conversation } from "./state";
import { connected, invoke, openConversation, render, rt, scheduleRender, showError, ui } from "./app";
import { ensureProfiles, markRead, scheduleDelivered, stopTyping, watchPresence } from "./live";

// --- messages and catch-up -------------------------------------------------------------

let listTimer = 0;
function refreshListSoon(): void {
  clearTimeout(listTimer);
  listTimer = window.setTimeout(() => void loadConversations().catch((e) => console.warn("ListConversations failed", e)), 100);
}

function onNewMessages(c: Conversation, added: MessageDto[]): void {
  const fromOthers = added.filter((m) => m.senderId !== rt.ctx.state.me);
  if (fromOthers.length > 0) {
    scheduleDelivered(c);
    if (c.id === rt.ctx.openId && document.visibilityState === "visible") {
      markRead(c);
    } else {
      c.unread += fromOthers.length;
    }
  }
  if (!c.title && !c.peerUserId) {
    refreshListSoon(); // A conversation someone else started: fetch its title and kind.
  }
  void ensureProfiles(added.map((m) => m.senderId));
  scheduleRender();
}

export function onMessageReceived(m: MessageDto): void {
  const known = rt.ctx.state.conversations.has(m.conversationId);
  const c = rt.ctx.state.conversation(m.conversationId, m.conversationId.startsWith("grp:") ? "group" : "direct");
  if (rt.ctx.state.addMessage(m)) {
    onNewMessages(c, [m]);
  } else if (m.kind && m.kind !== "message") {
    scheduleRender(); // An edit, delete or reaction changed a shown message.
  }
  if (known && rt.ctx.state.hasGap(m.conversationId)) {
    void catchUp();
  }
}

export async function loadConversations(): Promise<void> {
  const list: ConversationSummaryDto[] = [];
  let pageToken: string | null = null;
  do {
    const page: ConversationPageDto = await invoke<ConversationPageDto>("ListConversations", { pageToken, limit: 200 });
    list.push(...page.conversations);
    pageToken = page.nextPageToken;
  } while (pageToken);
  for (const s of list) {
    const c = rt.ctx.state.applySummary(s);
    if (s.lastMessage && s.lastMessage.senderId !== rt.ctx.state.me && s.lastMessage.seq > c.myDelivered) {
      scheduleDelivered(c);
    }
  }
  await ensureProfiles(list.flatMap((s) => [s.peerUserId, s.lastMessage?.senderId ?? ""]));
  markRead(openConversation());
  scheduleRender();
  void watchPresence();
}

let catchingUp: Promise<void> | null = null;
let lastSyncedAt: string | null = null;

export function dropConversation(id: string): void {
  rt.ctx.state.remove(id);
  if (rt.ctx.openId === id) {
    rt.ctx.openId = null;
  }
  scheduleRender();
}

export function onGroupChanged(g: GroupChangedDto): void {
  if (!g.memberIds.includes(rt.ctx.state.me)) {
    dropConversation(g.conversationId);
    return;
  }
  const c = rt.ctx.state.conversation(g.conversationId, "group");
  c.title = g.title;
  c.memberCount = g.memberIds.length;
  document.dispatchEvent(new CustomEvent("group-changed", { detail: g }));
  scheduleRender();
}
/** Sync from the stored cursors {conversationId, epoch, lastSeq} until nothing is left. */
export function catchUp(): Promise<void> {
  catchingUp ??= (async () => {
    try {
      for (let round = 0; round < 20 && connected(); round++) {
        const result = await invoke<SyncResultDto>("Sync", { cursors: rt.ctx.state.cursors(), limit: 0, receiptsSince: lastSyncedAt });
        lastSyncedAt = result.syncedAt ?? lastSyncedAt;
        for (const d of result.deltas) {
          if (d.removed) {
            dropConversation(d.conversationId);
            continue;
          }
          const c = rt.ctx.state.conversation(d.conversationId, d.kind);
          onNewMessages(c, rt.ctx.state.applyDelta(d));
          if (d.gap === "reset" && c.id === rt.ctx.openId) {
            await loadHistory(c);
          }
        }
        if (!result.hasMore) {
          break;
        }
      }
    } finally {
      catchingUp = null;
    }
  })();
  return catchingUp;
}

export async function loadHistory(c: Conversation, beforeSeq = 0): Promise<void> {
  const page = await invoke<HistoryDto>("GetHistory", { conversationId: c.id, beforeSeq, limit: 30 });
  const added = page.messages.filter((m) => rt.ctx.state.addMessage(m));
  if (beforeSeq === 0) {
    c.historyLoaded = true;
  }
  c.hasOlder = page.hasMore;
  await ensureProfiles(added.map((m) => m.senderId));
  scheduleRender();
}

export async function open(conversationId: string): Promise<void> {
  stopTyping();
  rt.ctx.openId = conversationId;
  const c = rt.ctx.state.conversation(conversationId);
  document.dispatchEvent(new Event("conversation-opened"));
  render();
  ui.input.focus();
  if (isDraft(c.id) || !connected()) {
    return;
  }
  if (!c.historyLoaded) {
    await loadHistory(c);
  }
  rt.ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
  if (c.kind === "group") {
    await ensureProfiles(c.receipts.keys());
  }
  markRead(c);
  render();
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

export async function loadOlder(): Promise<void> {
  const c = openConversation();
  if (!c || !c.hasOlder || !connected()) {
    return;
  }
  const seqs = [...c.messages.values()].filter((m) => m.seq > 0).map((m) => m.seq);
  await loadHistory(c, seqs.length ? Math.min(...seqs) : 0);
}

export function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sends text (or an uploaded file, by mediaId), optionally as a reply to the message at replyToSeq. */
export async function send(text: string, extra: { replyToSeq?: number; mediaId?: string; fileName?: string } = {}): Promise<void> {
  const c = openConversation();
  if (!c || (!text.trim() && !extra.mediaId)) {
    return;
  }
  stopTyping();
  const clientMsgId = newClientMsgId();
  const pending = rt.ctx.state.addPending(c.id, clientMsgId, text);
  pending.replyToSeq = extra.replyToSeq ?? 0;
  if (extra.mediaId) {
    pending.attachment = { uri: "", contentType: null, sizeBytes: 0, fileName: extra.fileName ?? null, mediaId: extra.mediaId };
  }
  rt.outbox.push({ conversationId: c.id, clientMsgId, text, replyToSeq: extra.replyToSeq, mediaId: extra.mediaId });
  render();
  await flushOutbox();
}

let flushing = false;
export async function flushOutbox(): Promise<void> {
  if (flushing) {
    return;
  }
  flushing = true;
  try {
    while (rt.outbox.length > 0 && connected()) {
      const item = rt.outbox[0];
      const draft = isDraft(item.conversationId);
      const peer = draft ? rt.ctx.state.conversation(item.conversationId).peerUserId : null;
      try {
        const content = {
          clientMsgId: item.clientMsgId, text: item.text, replyToSeq: item.replyToSeq ?? 0,
          attachment: item.mediaId ? { mediaId: item.mediaId } : null,
        };
        const accepted = await invoke<MessageAcceptedDto>("SendMessage", draft
          ? { peerUserId: peer, ...content }
          : { conversationId: item.conversationId, ...content });
        rt.outbox.shift();
        const real = accepted.message.conversationId;
        if (draft) {
          rt.ctx.state.promoteDraft(item.conversationId, real).historyLoaded = true;
          rt.outbox = rt.outbox.map((o) => (o.conversationId === item.conversationId ? { ...o, conversationId: real } : o));
          if (rt.ctx.openId === item.conversationId) {
            rt.ctx.openId = real;
          }
        }
        rt.ctx.state.addMessage(accepted.message);
        scheduleRender();
      } catch (e) {
        if (!connected()) {
          break; // Sent again after the reconnect.
        }
        rt.outbox.shift();
        rt.ctx.state.conversation(item.conversationId).messages.delete(item.clientMsgId);
        showError(ui.sidebarError, e);
        scheduleRender();
      }
    }
  } finally {
    flushing = false;
  }
}
