// The client's model of conversations: messages deduplicated by msgId, the contiguous sync
// cursor {epoch, lastSeq}, receipt cursors and tick states. No DOM here.
import type { ConversationDeltaDto, ConversationSummaryDto, CursorDto, MessageDto, SyncCursor } from "./hub";

export type Tick = "pending" | "sent" | "delivered" | "read";

/** A message; a pending one (not acked yet) has seq 0 and its clientMsgId as msgId. */
export interface Message extends MessageDto {
  pending?: boolean;
  /** Reactions seen live, by sender. */
  reactedBy?: Map<string, string>;
}

export interface Conversation {
  id: string;
  kind: "direct" | "group";
  title: string;
  peerUserId: string;
  memberCount: number;
  lastMessage: Message | null;
  unread: number;
  epoch: number;
  /** Every seq up to here is known (loaded or deliberately skipped): what Sync continues from. */
  lastSeq: number;
  messages: Map<string, Message>;
  seqs: Set<number>;
  historyLoaded: boolean;
  hasOlder: boolean;
  /** Other members' cursors, for ticks. */
  receipts: Map<string, { delivered: number; read: number }>;
  myRead: number;
  myDelivered: number;
}

/** A direct chat that exists only in this browser until its first message. */
export const draftId = (peerUserId: string) => `draft:${peerUserId}`;
export const isDraft = (id: string) => id.startsWith("draft:");
export const groupIdOf = (conversationId: string) => (conversationId.startsWith("grp:") ? conversationId.slice(4) : "");

export class ChatState {
  readonly conversations = new Map<string, Conversation>();

  constructor(readonly me: string) {}

  conversation(id: string, kind: "direct" | "group" = "direct"): Conversation {
    let c = this.conversations.get(id);
    if (!c) {
      c = {
        id, kind, title: "", peerUserId: "", memberCount: kind === "direct" ? 2 : 0, lastMessage: null, unread: 0,
        epoch: 0, lastSeq: 0, messages: new Map(), seqs: new Set(), historyLoaded: false, hasOlder: false,
        receipts: new Map(), myRead: 0, myDelivered: 0,
      };
      this.conversations.set(id, c);
    }
    return c;
  }

  /** Conversations, newest activity first. */
  sorted(): Conversation[] {
    const time = (c: Conversation) => (c.lastMessage ? Date.parse(c.lastMessage.sentAt) || Number.MAX_SAFE_INTEGER : 0);
    return [...this.conversations.values()].sort((a, b) => time(b) - time(a));
  }

  applySummary(s: ConversationSummaryDto): Conversation {
    const c = this.conversation(s.conversationId, s.kind);
    c.kind = s.kind;
    c.title = s.title;
    c.peerUserId = s.peerUserId;
    c.memberCount = s.memberCount;
    c.unread = s.unreadCount;
    c.myRead = Math.max(c.myRead, s.myCursor?.readSeq ?? 0);
    c.myDelivered = Math.max(c.myDelivered, s.myCursor?.deliveredSeq ?? 0);
    if (s.lastMessage && (!c.lastMessage || s.lastMessage.seq >= c.lastMessage.seq)) {
      c.lastMessage = s.lastMessage;
    }
    // Messages before the newest one are fetched on demand (history), not by Sync.
    if (s.lastMessage && c.lastSeq === 0) {
      c.lastSeq = s.lastMessage.seq;
    }
    return c;
  }

  /** Adds a message unless it is known already. Returns false for a duplicate (and for edit, delete and reaction entries). */
  addMessage(m: MessageDto): boolean {
    const c = this.conversation(m.conversationId);
    if (m.kind && m.kind !== "message") {
      this.applyEntry(c, m);
      return false;
    }
    if (c.messages.has(m.msgId)) {
      return false;
    }
    // The acked copy replaces the pending one.
    for (const [key, p] of c.messages) {
      if (p.pending && p.clientMsgId === m.clientMsgId && m.senderId === this.me) {
        c.messages.delete(key);
      }
    }
    c.messages.set(m.msgId, m);
    c.seqs.add(m.seq);
    while (c.seqs.has(c.lastSeq + 1)) {
      c.lastSeq++;
    }
    if (!c.lastMessage || m.seq >= c.lastMessage.seq) {
      c.lastMessage = m;
    }
    if (m.senderId === this.me) {
      // Own messages count as read by the sender on the server too.
      c.myRead = Math.max(c.myRead, m.seq);
      c.myDelivered = Math.max(c.myDelivered, m.seq);
    }
    return true;
  }

  /** An edit, delete or reaction: counts for the sync cursor and changes its target, if loaded; it is not shown itself. */
  private applyEntry(c: Conversation, e: MessageDto): void {
    if (c.seqs.has(e.seq)) {
      return;
    }
    c.seqs.add(e.seq);
    while (c.seqs.has(c.lastSeq + 1)) {
      c.lastSeq++;
    }
    const target = [...c.messages.values()].find((t) => t.seq === e.targetSeq);
    if (!target) {
      return;
    }
    if (e.kind === "edit") {
      target.text = e.text;
      target.editedAt = e.sentAt;
    } else if (e.kind === "delete") {
      target.text = "";
      target.deleted = true;
      target.reactions = null;
    } else if (e.kind === "reaction") {
      // Live reactions: keep each sender's latest emoji on top of the counts history gave.
      const by = (target.reactedBy ??= new Map<string, string>());
      const counts = new Map((target.reactions ?? []).map((r) => [r.emoji, { ...r }]));
      // My own earlier reaction is known from history's "mine" even when not seen live.
      const previous = by.get(e.senderId) ?? (e.senderId === this.me ? [...counts.values()].find((r) => r.mine)?.emoji : undefined);
      if (previous && counts.has(previous)) {
        const r = counts.get(previous)!;
        r.count--;
        r.mine = r.mine && e.senderId !== this.me;
      }
      if (e.text) {
        const r = counts.get(e.text) ?? { emoji: e.text, count: 0, mine: false };
        r.count++;
        r.mine ||= e.senderId === this.me;
        counts.set(e.text, r);
        by.set(e.senderId, e.text);
      } else {
        by.delete(e.senderId);
      }
      target.reactions = [...counts.values()].filter((r) => r.count > 0);
    }
  }

  addPending(conversationId: string, clientMsgId: string, text: string): Message {
    const c = this.conversation(conversationId);
    const m: Message = {
      conversationId, seq: 0, msgId: clientMsgId, senderId: this.me, senderDeviceId: "", clientMsgId, text,
      sentAt: new Date().toISOString(), pending: true,
    };
    c.messages.set(m.msgId, m);
    return m;
  }

  /** True when a live message skipped seqs that the client never saw (then it should Sync). */
  hasGap(conversationId: string): boolean {
    const c = this.conversations.get(conversationId);
    return !!c && [...c.seqs].some((s) => s > c.lastSeq + 1);
  }

  /** Renames a draft direct chat to its real conversation id after the first send. */
  promoteDraft(draft: string, conversationId: string): Conversation {
    const d = this.conversations.get(draft);
    this.conversations.delete(draft);
    const c = this.conversation(conversationId, "direct");
    if (d) {
      c.title ||= d.title;
      c.peerUserId ||= d.peerUserId;
      const known = new Set([...c.messages.values()].map((m) => m.clientMsgId));
      for (const m of d.messages.values()) {
        if (!known.has(m.clientMsgId)) {
          c.messages.set(m.msgId, { ...m, conversationId });
        }
      }
    }
    return c;
  }

  applyReceipt(conversationId: string, userId: string, delivered: number, read: number): void {
    const c = this.conversation(conversationId);
    if (userId === this.me) {
      c.myDelivered = Math.max(c.myDelivered, delivered, read);
      c.myRead = Math.max(c.myRead, read);
      return;
    }
    const r = c.receipts.get(userId) ?? { delivered: 0, read: 0 };
    r.read = Math.max(r.read, read);
    r.delivered = Math.max(r.delivered, delivered, r.read);
    c.receipts.set(userId, r);
  }

  applyCursors(conversationId: string, cursors: CursorDto[]): void {
    for (const k of cursors) {
      this.applyReceipt(conversationId, k.userId, k.deliveredSeq, k.readSeq);
    }
  }

  /** Applies one Sync delta; returns the messages that were new. */
  applyDelta(d: ConversationDeltaDto): MessageDto[] {
    const c = this.conversation(d.conversationId, d.kind);
    c.kind = d.kind;
    if (d.gap === "reset" || d.gap === "cursor_ahead") {
      // The server's history differs from ours: drop what we hold and start over from its state.
      c.messages.clear();
      c.seqs.clear();
      c.historyLoaded = false;
      c.lastSeq = d.gap === "cursor_ahead" ? d.lastSeq : 0;
    }
    c.epoch = d.epoch;
    const added = d.messages.filter((m) => this.addMessage(m));
    this.applyCursors(d.conversationId, d.receipts);
    return added;
  }

  /** Forgets a conversation the user no longer belongs to. */
  remove(id: string): void {
    this.conversations.delete(id);
  }

  cursors(): SyncCursor[] {
    return [...this.conversations.values()]
      .filter((c) => !isDraft(c.id))
      .map((c) => ({ conversationId: c.id, epoch: c.epoch, lastSeq: c.lastSeq }));
  }

  /** The newest seq in a conversation from someone else. */
  newestFromOthers(c: Conversation): number {
    let top = c.lastMessage && c.lastMessage.senderId !== this.me ? c.lastMessage.seq : 0;
    for (const m of c.messages.values()) {
      if (m.senderId !== this.me && m.seq > top) {
        top = m.seq;
      }
    }
    return top;
  }

  /** Members other than me who have read up to the seq, and how many others there are. */
  readBy(c: Conversation, seq: number): { read: number; of: number } {
    let read = 0;
    for (const [userId, r] of c.receipts) {
      if (userId !== this.me && r.read >= seq) {
        read++;
      }
    }
    return { read, of: Math.max(0, c.memberCount - 1) };
  }

  tick(c: Conversation, m: Message): Tick {
    if (m.pending || m.seq === 0) {
      return "pending";
    }
    const others = [...c.receipts.entries()].filter(([u]) => u !== this.me).map(([, r]) => r);
    const needed = Math.max(1, c.memberCount - 1);
    const readCount = others.filter((r) => r.read >= m.seq).length;
    const deliveredCount = others.filter((r) => r.delivered >= m.seq).length;
    if (readCount >= needed) {
      return "read";
    }
    return deliveredCount >= needed ? "delivered" : "sent";
  }
}
