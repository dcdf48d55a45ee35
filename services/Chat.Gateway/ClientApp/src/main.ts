// The web client: sign-in, the conversation list and one open chat, over the gateway's hub.
import { HubConnectionState, type HubConnection } from "@microsoft/signalr";
import * as api from "./api";
import {
  createConnection, hubErrorMessage, isMissingMethod,
  type ConversationPageDto, type ConversationSummaryDto, type GroupChangedDto, type GroupDto, type HistoryDto, type MessageAcceptedDto, type MessageDto,
  type PresenceDto, type ReceiptDto, type SyncResultDto, type TypingDto, type UserProfileDto, type CursorDto,
} from "./hub";
import { ChatState, draftId, groupIdOf, isDraft, type Conversation } from "./state";
import * as view from "./view";

const ui = {
  authView: view.byId("auth-view"),
  authForm: view.byId<HTMLFormElement>("auth-form"),
  userName: view.byId<HTMLInputElement>("auth-username"),
  password: view.byId<HTMLInputElement>("auth-password"),
  displayName: view.byId<HTMLInputElement>("auth-display"),
  register: view.byId<HTMLButtonElement>("register-button"),
  authError: view.byId("auth-error"),
  chatView: view.byId("chat-view"),
  me: view.byId("me"),
  logout: view.byId<HTMLButtonElement>("logout"),
  pushSink: view.byId<HTMLAnchorElement>("push-sink-link"),
  banner: view.byId("conn-banner"),
  newChat: view.byId<HTMLFormElement>("new-chat-form"),
  newChatUser: view.byId<HTMLInputElement>("new-chat-user"),
  newGroup: view.byId<HTMLFormElement>("new-group-form"),
  newGroupTitle: view.byId<HTMLInputElement>("new-group-title"),
  newGroupMembers: view.byId<HTMLInputElement>("new-group-members"),
  sidebarError: view.byId("sidebar-error"),
  list: view.byId<HTMLUListElement>("conversation-list"),
  title: view.byId("conv-title"),
  status: view.byId("conv-status"),
  addMember: view.byId<HTMLFormElement>("add-member-form"),
  addMemberUser: view.byId<HTMLInputElement>("add-member-user"),
  loadOlder: view.byId<HTMLButtonElement>("load-older"),
  messages: view.byId<HTMLOListElement>("messages"),
  typing: view.byId("typing"),
  composer: view.byId<HTMLFormElement>("composer"),
  input: view.byId<HTMLTextAreaElement>("composer-input"),
};

let session: api.Session | null = null;
let conn: HubConnection | null = null;
let refreshTimer = 0;
let ctx: view.ViewContext = { state: new ChatState(""), openId: null, profiles: new Map(), presence: new Map(), typing: new Map() };
let presenceSupported = true;
let typingSupported = true;
/** Pending sends in order; flushed whenever the connection is up (same clientMsgId, so retries are idempotent). */
let outbox: { conversationId: string; clientMsgId: string; text: string }[] = [];

const connected = () => conn?.state === HubConnectionState.Connected;
const openConversation = () => (ctx.openId ? ctx.state.conversations.get(ctx.openId) : undefined);

async function invoke<T>(method: string, ...args: unknown[]): Promise<T> {
  // Right after sign-in the first connection may still be starting: wait for it (briefly)
  // instead of failing a call the user made a moment too early. A reconnect fails fast.
  const deadline = Date.now() + 15000;
  while (conn && conn.state === HubConnectionState.Connecting && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!conn) {
    throw new Error("not connected");
  }
  return conn.invoke<T>(method, ...args);
}

function showError(target: HTMLElement, error: unknown): void {
  if (error instanceof api.ApiError) {
    target.textContent = error.message;
  } else if (conn && !connected()) {
    target.textContent = "The connection dropped; try again once it is back.";
  } else {
    target.textContent = hubErrorMessage(error);
  }
}

function banner(text: string | null): void {
  ui.banner.hidden = text === null;
  ui.banner.textContent = text ?? "";
}

// --- rendering -------------------------------------------------------------------------

function render(): void {
  view.renderConversationList(ctx, ui.list);
  const c = openConversation();
  ui.composer.hidden = !c;
  ui.addMember.hidden = c?.kind !== "group";
  ui.loadOlder.hidden = !c?.hasOlder;
  if (!c) {
    ui.title.textContent = "Select a conversation";
    ui.status.textContent = "";
    ui.typing.textContent = "";
    view.renderMessages(ctx, undefined, ui.messages);
    return;
  }
  ui.title.textContent = view.titleOf(ctx, c);
  ui.status.textContent = c.kind === "group" ? `${c.memberCount} members` : view.presenceText(ctx, c.peerUserId);
  ui.typing.textContent = view.typingText(ctx, c.id);
  view.renderMessages(ctx, c, ui.messages);
}

let renderQueued = false;
function scheduleRender(): void {
  if (!renderQueued) {
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      render();
    });
  }
}

// --- profiles and presence -------------------------------------------------------------

const profileRequests = new Set<string>();
async function ensureProfiles(userIds: Iterable<string>): Promise<void> {
  const missing = [...new Set(userIds)].filter((id) => id && !ctx.profiles.has(id) && !profileRequests.has(id));
  if (missing.length === 0 || !connected()) {
    return;
  }
  missing.forEach((id) => profileRequests.add(id));
  try {
    for (const p of await invoke<UserProfileDto[]>("GetProfiles", missing)) {
      ctx.profiles.set(p.userId, p);
    }
    scheduleRender();
  } finally {
    missing.forEach((id) => profileRequests.delete(id));
  }
}

/** Asks for the presence of every direct-chat peer; hidden quietly when the server has no presence yet. */
async function watchPresence(): Promise<void> {
  const peers = [...new Set([...ctx.state.conversations.values()].filter((c) => c.kind === "direct" && c.peerUserId).map((c) => c.peerUserId))];
  if (!presenceSupported || peers.length === 0 || !connected()) {
    return;
  }
  try {
    for (const p of (await invoke<PresenceDto[]>("WatchPresence", peers)) ?? []) {
      ctx.presence.set(p.userId, p);
    }
    scheduleRender();
  } catch (e) {
    if (isMissingMethod(e)) {
      presenceSupported = false;
    } else {
      console.warn("WatchPresence failed", e);
    }
  }
}

// --- typing ----------------------------------------------------------------------------

let typingSentAt = 0;
let typingIdle = 0;
let typingConversation = "";
function setTyping(conversationId: string, typing: boolean): void {
  if (!typingSupported || !connected() || isDraft(conversationId)) {
    return;
  }
  invoke("SetTyping", conversationId, typing).catch((e) => {
    if (isMissingMethod(e)) {
      typingSupported = false;
    }
  });
}

function noteTyping(): void {
  const c = openConversation();
  if (!c) {
    return;
  }
  if (typingConversation !== c.id || Date.now() - typingSentAt > 3000) {
    typingConversation = c.id;
    typingSentAt = Date.now();
    setTyping(c.id, true);
  }
  clearTimeout(typingIdle);
  typingIdle = window.setTimeout(stopTyping, 4000);
}

function stopTyping(): void {
  clearTimeout(typingIdle);
  if (typingConversation) {
    setTyping(typingConversation, false);
    typingConversation = "";
    typingSentAt = 0;
  }
}

// --- receipts --------------------------------------------------------------------------

const deliveredTimers = new Map<string, number>();
function scheduleDelivered(c: Conversation): void {
  if (deliveredTimers.has(c.id)) {
    return;
  }
  deliveredTimers.set(c.id, window.setTimeout(() => {
    deliveredTimers.delete(c.id);
    const top = ctx.state.newestFromOthers(c);
    if (top > c.myDelivered && connected()) {
      c.myDelivered = top;
      invoke<CursorDto>("UpdateReceipt", { conversationId: c.id, kind: "delivered", upToSeq: top }).catch((e) => console.warn("delivered receipt failed", e));
    }
  }, 50));
}

/** Read receipts go out only while the chat is open and the page is visible. */
function markRead(c: Conversation | undefined): void {
  if (!c || c.id !== ctx.openId || document.visibilityState !== "visible" || isDraft(c.id)) {
    return;
  }
  c.unread = 0;
  const top = ctx.state.newestFromOthers(c);
  if (top > c.myRead && connected()) {
    c.myRead = top;
    c.myDelivered = Math.max(c.myDelivered, top);
    invoke<CursorDto>("UpdateReceipt", { conversationId: c.id, kind: "read", upToSeq: top }).catch((e) => console.warn("read receipt failed", e));
  }
  scheduleRender();
}

// --- messages and catch-up -------------------------------------------------------------

let listTimer = 0;
function refreshListSoon(): void {
  clearTimeout(listTimer);
  listTimer = window.setTimeout(() => void loadConversations().catch((e) => console.warn("ListConversations failed", e)), 100);
}

function onNewMessages(c: Conversation, added: MessageDto[]): void {
  const fromOthers = added.filter((m) => m.senderId !== ctx.state.me);
  if (fromOthers.length > 0) {
    scheduleDelivered(c);
    if (c.id === ctx.openId && document.visibilityState === "visible") {
      markRead(c);
    } else {
      c.unread += fromOthers.length;
    }
  }
  if (!c.title && !c.peerUserId) {
    refreshListSoon(); // A conversation someone else started: fetch its title and kind.
  }
  void ensureProfiles(added.map((m) => m.senderId)).catch(() => {});
  scheduleRender();
}

function onMessageReceived(m: MessageDto): void {
  const known = ctx.state.conversations.has(m.conversationId);
  const c = ctx.state.conversation(m.conversationId, m.conversationId.startsWith("grp:") ? "group" : "direct");
  if (ctx.state.addMessage(m)) {
    onNewMessages(c, [m]);
  } else if (m.kind && m.kind !== "message") {
    scheduleRender(); // An edit, delete or reaction changed a shown message.
  }
  if (known && ctx.state.hasGap(m.conversationId)) {
    void catchUp();
  }
}

async function loadConversations(): Promise<void> {
  const list: ConversationSummaryDto[] = [];
  let pageToken: string | null = null;
  do {
    const page: ConversationPageDto = await invoke<ConversationPageDto>("ListConversations", { pageToken, limit: 200 });
    list.push(...page.conversations);
    pageToken = page.nextPageToken;
  } while (pageToken);
  for (const s of list) {
    const c = ctx.state.applySummary(s);
    if (s.lastMessage && s.lastMessage.senderId !== ctx.state.me && s.lastMessage.seq > c.myDelivered) {
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

function dropConversation(id: string): void {
  ctx.state.remove(id);
  if (ctx.openId === id) {
    ctx.openId = null;
  }
  scheduleRender();
}

function onGroupChanged(g: GroupChangedDto): void {
  if (!g.memberIds.includes(ctx.state.me)) {
    dropConversation(g.conversationId);
    return;
  }
  const c = ctx.state.conversation(g.conversationId, "group");
  c.title = g.title;
  c.memberCount = g.memberIds.length;
  document.dispatchEvent(new CustomEvent("group-changed", { detail: g }));
  scheduleRender();
}
/** Sync from the stored cursors {conversationId, epoch, lastSeq} until nothing is left. */
function catchUp(): Promise<void> {
  catchingUp ??= (async () => {
    try {
      for (let round = 0; round < 20 && connected(); round++) {
        const result = await invoke<SyncResultDto>("Sync", { cursors: ctx.state.cursors(), limit: 0, receiptsSince: lastSyncedAt });
        lastSyncedAt = result.syncedAt ?? lastSyncedAt;
        for (const d of result.deltas) {
          if (d.removed) {
            dropConversation(d.conversationId);
            continue;
          }
          const c = ctx.state.conversation(d.conversationId, d.kind);
          onNewMessages(c, ctx.state.applyDelta(d));
          if (d.gap === "reset" && c.id === ctx.openId) {
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

async function loadHistory(c: Conversation, beforeSeq = 0): Promise<void> {
  const page = await invoke<HistoryDto>("GetHistory", { conversationId: c.id, beforeSeq, limit: 30 });
  const added = page.messages.filter((m) => ctx.state.addMessage(m));
  if (beforeSeq === 0) {
    c.historyLoaded = true;
  }
  c.hasOlder = page.hasMore;
  await ensureProfiles(added.map((m) => m.senderId));
  scheduleRender();
}

async function open(conversationId: string): Promise<void> {
  stopTyping();
  ctx.openId = conversationId;
  const c = ctx.state.conversation(conversationId);
  render();
  ui.input.focus();
  if (isDraft(c.id) || !connected()) {
    return;
  }
  if (!c.historyLoaded) {
    await loadHistory(c);
  }
  ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
  if (c.kind === "group") {
    await ensureProfiles(c.receipts.keys());
  }
  markRead(c);
  render();
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

async function loadOlder(): Promise<void> {
  const c = openConversation();
  if (!c || !c.hasOlder || !connected()) {
    return;
  }
  const seqs = [...c.messages.values()].filter((m) => m.seq > 0).map((m) => m.seq);
  await loadHistory(c, seqs.length ? Math.min(...seqs) : 0);
}

function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(text: string): Promise<void> {
  const c = openConversation();
  if (!c || !text.trim()) {
    return;
  }
  stopTyping();
  const clientMsgId = newClientMsgId();
  ctx.state.addPending(c.id, clientMsgId, text);
  outbox.push({ conversationId: c.id, clientMsgId, text });
  render();
  await flushOutbox();
}

let flushing = false;
async function flushOutbox(): Promise<void> {
  if (flushing) {
    return;
  }
  flushing = true;
  try {
    while (outbox.length > 0 && connected()) {
      const item = outbox[0];
      const draft = isDraft(item.conversationId);
      const peer = draft ? ctx.state.conversation(item.conversationId).peerUserId : null;
      try {
        const accepted = await invoke<MessageAcceptedDto>("SendMessage", draft
          ? { peerUserId: peer, clientMsgId: item.clientMsgId, text: item.text }
          : { conversationId: item.conversationId, clientMsgId: item.clientMsgId, text: item.text });
        outbox.shift();
        const real = accepted.message.conversationId;
        if (draft) {
          ctx.state.promoteDraft(item.conversationId, real).historyLoaded = true;
          outbox = outbox.map((o) => (o.conversationId === item.conversationId ? { ...o, conversationId: real } : o));
          if (ctx.openId === item.conversationId) {
            ctx.openId = real;
          }
        }
        ctx.state.addMessage(accepted.message);
        scheduleRender();
      } catch (e) {
        if (!connected()) {
          break; // Sent again after the reconnect.
        }
        outbox.shift();
        ctx.state.conversation(item.conversationId).messages.delete(item.clientMsgId);
        showError(ui.sidebarError, e);
        scheduleRender();
      }
    }
  } finally {
    flushing = false;
  }
}

// --- connection and session ------------------------------------------------------------

async function afterConnected(): Promise<void> {
  banner(null);
  ui.sidebarError.textContent = "";
  await loadConversations();
  await catchUp();
  await flushOutbox();
  const c = openConversation();
  if (c && !isDraft(c.id)) {
    if (!c.historyLoaded) {
      await loadHistory(c); // Opening it was cut short by the drop.
    }
    ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
    markRead(c);
  }
  render();
}

async function connect(): Promise<void> {
  const connection = createConnection(() => session?.accessToken ?? "");
  conn = connection;
  connection.on("MessageReceived", onMessageReceived);
  connection.on("MessageAccepted", (a: MessageAcceptedDto) => onMessageReceived(a.message));
  connection.on("ReceiptUpdated", (r: ReceiptDto) => {
    ctx.state.applyReceipt(r.conversationId, r.userId, r.kind === "delivered" ? r.upToSeq : 0, r.kind === "read" ? r.upToSeq : 0);
    scheduleRender();
  });
  connection.on("PresenceChanged", (p: PresenceDto) => {
    ctx.presence.set(p.userId, p);
    scheduleRender();
  });
  connection.on("TypingChanged", (t: TypingDto) => {
    const map = ctx.typing.get(t.conversationId) ?? new Map<string, number>();
    ctx.typing.set(t.conversationId, map);
    if (t.typing) {
      map.set(t.userId, Date.now() + 6000);
      window.setTimeout(scheduleRender, 6100);
    } else {
      map.delete(t.userId);
    }
    scheduleRender();
  });
  connection.on("GroupChanged", onGroupChanged);
  connection.onreconnecting(() => banner("Reconnecting…"));
  connection.onreconnected(() => void afterConnected().catch((e) => console.warn("catch-up failed", e)));
  connection.onclose(() => {
    if (conn === connection && session) {
      banner("Reconnecting…");
      void startWithRetry(connection);
    }
  });
  await startWithRetry(connection);
}

async function startWithRetry(connection: HubConnection): Promise<void> {
  for (let attempt = 0; conn === connection && session; attempt++) {
    try {
      await connection.start();
      await afterConnected();
      return;
    } catch (e) {
      if (connection.state === HubConnectionState.Connected) {
        console.warn("loading after connect failed", e);
        return;
      }
      banner("Reconnecting…");
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
}

function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  if (!session) {
    return;
  }
  refreshTimer = window.setTimeout(async () => {
    if (!session) {
      return;
    }
    try {
      session = await api.refresh(session);
      api.saveSession(session);
      if (connected()) {
        await invoke("UpdateAccessToken", session.accessToken);
      }
      document.body.dataset.tokenRefreshedAt = new Date().toISOString();
      scheduleRefresh();
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) {
        await signOut();
        showError(ui.authError, e);
      } else {
        refreshTimer = window.setTimeout(scheduleRefresh, 5000);
      }
    }
  }, api.refreshDelayMs(session));
}

async function signIn(s: api.Session): Promise<void> {
  if (Date.parse(s.accessTokenExpiresAt) - Date.now() < 30_000) {
    s = await api.refresh(s); // A saved session whose access token is (nearly) expired.
  }
  session = s;
  api.saveSession(s);
  ctx = { state: new ChatState(s.userId), openId: null, profiles: new Map(), presence: new Map(), typing: new Map() };
  outbox = [];
  ui.me.textContent = `Signed in as ${s.displayName || s.userName || s.userId}`;
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.logout.hidden = false;
  scheduleRefresh();
  render();
  ui.newChatUser.focus();
  await connect();
}

async function signOut(): Promise<void> {
  session = null;
  api.saveSession(null);
  clearTimeout(refreshTimer);
  const c = conn;
  conn = null;
  await c?.stop();
  banner(null);
  ui.me.textContent = "";
  ui.chatView.hidden = true;
  ui.authView.hidden = false;
  ui.logout.hidden = true;
  ui.userName.focus();
}

async function authenticate(registering: boolean): Promise<void> {
  ui.authError.textContent = "";
  if (!ui.authForm.reportValidity()) {
    return;
  }
  try {
    const s = registering
      ? await api.register(ui.userName.value.trim(), ui.password.value, ui.displayName.value.trim())
      : await api.login(ui.userName.value.trim(), ui.password.value);
    ui.password.value = "";
    await signIn(s);
  } catch (e) {
    showError(ui.authError, e);
  }
}

async function findUser(userName: string): Promise<UserProfileDto> {
  const p = await invoke<UserProfileDto>("FindUser", userName.trim().toLowerCase());
  ctx.profiles.set(p.userId, p);
  return p;
}

// --- wiring ----------------------------------------------------------------------------

function on<T extends Event>(target: EventTarget, type: string, handler: (e: T) => Promise<void> | void, errorTarget = ui.sidebarError): void {
  target.addEventListener(type, (e) => {
    errorTarget.textContent = "";
    Promise.resolve(handler(e as T)).catch((err) => showError(errorTarget, err));
  });
}

on(ui.authForm, "submit", (e) => {
  e.preventDefault();
  return authenticate(false);
}, ui.authError);
on(ui.register, "click", () => authenticate(true), ui.authError);
on(ui.logout, "click", signOut);

on(ui.newChat, "submit", async (e) => {
  e.preventDefault();
  const p = await findUser(ui.newChatUser.value);
  if (p.userId === ctx.state.me) {
    throw new Error("That is you: pick someone else.");
  }
  const existing = [...ctx.state.conversations.values()].find((c) => c.kind === "direct" && c.peerUserId === p.userId);
  const c = existing ?? ctx.state.conversation(draftId(p.userId), "direct");
  c.peerUserId = p.userId;
  c.title ||= p.displayName;
  if (isDraft(c.id)) {
    c.historyLoaded = true;
  }
  ui.newChatUser.value = "";
  await open(c.id);
  void watchPresence();
});

on(ui.newGroup, "submit", async (e) => {
  e.preventDefault();
  const names = ui.newGroupMembers.value.split(",").map((n) => n.trim()).filter(Boolean);
  const members = await Promise.all(names.map(findUser));
  const group = await invoke<GroupDto>("CreateGroup", ui.newGroupTitle.value.trim(), members.map((m) => m.userId));
  const c = ctx.state.conversation(group.conversationId, "group");
  c.title = group.title;
  c.memberCount = group.memberCount;
  ui.newGroupTitle.value = "";
  ui.newGroupMembers.value = "";
  await open(c.id);
});

on(ui.addMember, "submit", async (e) => {
  e.preventDefault();
  const c = openConversation();
  if (!c || c.kind !== "group") {
    return;
  }
  const p = await findUser(ui.addMemberUser.value);
  const result = await invoke<{ group: GroupDto; addedUserIds: string[] }>("AddMembers", groupIdOf(c.id), [p.userId]);
  c.memberCount = result.group.memberCount;
  ui.addMemberUser.value = "";
  ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
  render();
});

on(ui.list, "click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLElement>("[data-conversation-id]");
  return button ? open(button.dataset.conversationId!) : undefined;
});

on(ui.composer, "submit", (e) => {
  e.preventDefault();
  const text = ui.input.value;
  ui.input.value = "";
  return send(text);
});
ui.input.addEventListener("keydown", (e) => {
  // Enter sends, Shift+Enter makes a new line.
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.input.addEventListener("input", () => (ui.input.value ? noteTyping() : stopTyping()));
on(ui.loadOlder, "click", loadOlder);
ui.messages.addEventListener("scroll", () => {
  if (ui.messages.scrollTop === 0) {
    void loadOlder().catch(() => {});
  }
});
document.addEventListener("visibilitychange", () => markRead(openConversation()));

// The dev push sink (development deployments only): link to it when it answers.
fetch("/dev/push-sink", { cache: "no-store" })
  .then((r) => {
    ui.pushSink.hidden = !r.ok;
  })
  .catch(() => {});

const saved = api.loadSession();
if (saved) {
  signIn(saved).catch(async (e) => {
    await signOut();
    showError(ui.authError, e);
  });
} else {
  ui.userName.focus();
}
