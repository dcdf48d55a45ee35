// The web client: sign-in, the connection to the gateway's hub, and the wiring of the page.
import { HubConnectionState, type HubConnection } from "@microsoft/signalr";
import * as api from "./api";
import { createConnection, type GroupDto, type MessageAcceptedDto, type PresenceDto, type ReceiptDto, type TypingDto, type CursorDto } from "./hub";
import { ChatState, draftId, groupIdOf, isDraft } from "./state";
import { banner, connected, findUser, invoke, on, openConversation, render, rt, scheduleRender, showError, ui } from "./app";
import { markRead, noteTyping, retryProfilesNow, stopTyping, watchPresence } from "./live";
import { catchUp, flushOutbox, loadConversations, loadHistory, loadOlder, onGroupChanged, onMessageReceived, open } from "./chat";
import "./groups";
import { compose } from "./lifecycle";
import "./media";
import { showPrompt, startPush } from "./push";
import { resetMute } from "./settings";
import * as view from "./view";

const settingsButton = view.byId<HTMLButtonElement>("settings-button");
let refreshTimer = 0;

// --- connection and session ------------------------------------------------------------

/** A chat to open once loaded: a notification clicked while no tab was open links to /?c={conversationId}. */
let linkedConversation = new URLSearchParams(location.search).get("c");

async function afterConnected(): Promise<void> {
  banner(null);
  ui.sidebarError.textContent = "";
  retryProfilesNow();
  await loadConversations();
  await catchUp();
  await flushOutbox();
  const c = openConversation();
  if (c && !isDraft(c.id)) {
    if (!c.historyLoaded) {
      await loadHistory(c); // Opening it was cut short by the drop.
    }
    rt.ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
    markRead(c);
  }
  render();
  if (linkedConversation && rt.ctx.state.conversations.has(linkedConversation)) {
    const id = linkedConversation;
    linkedConversation = null;
    history.replaceState(null, "", "/");
    await open(id);
  }
}

async function connect(): Promise<void> {
  const connection = createConnection(() => rt.session?.accessToken ?? "");
  rt.conn = connection;
  connection.on("MessageReceived", onMessageReceived);
  connection.on("MessageAccepted", (a: MessageAcceptedDto) => onMessageReceived(a.message));
  connection.on("ReceiptUpdated", (r: ReceiptDto) => {
    rt.ctx.state.applyReceipt(r.conversationId, r.userId, r.kind === "delivered" ? r.upToSeq : 0, r.kind === "read" ? r.upToSeq : 0);
    scheduleRender();
  });
  connection.on("PresenceChanged", (p: PresenceDto) => {
    rt.ctx.presence.set(p.userId, p);
    scheduleRender();
  });
  connection.on("TypingChanged", (t: TypingDto) => {
    const map = rt.ctx.typing.get(t.conversationId) ?? new Map<string, number>();
    rt.ctx.typing.set(t.conversationId, map);
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
    if (rt.conn === connection && rt.session) {
      banner("Reconnecting…");
      void startWithRetry(connection);
    }
  });
  await startWithRetry(connection);
}

async function startWithRetry(connection: HubConnection): Promise<void> {
  for (let attempt = 0; rt.conn === connection && rt.session; attempt++) {
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
  if (!rt.session) {
    return;
  }
  refreshTimer = window.setTimeout(async () => {
    if (!rt.session) {
      return;
    }
    try {
      rt.session = await api.refresh(rt.session);
      api.saveSession(rt.session);
      if (connected()) {
        await invoke("UpdateAccessToken", rt.session.accessToken);
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
  }, api.refreshDelayMs(rt.session));
}

async function signIn(s: api.Session): Promise<void> {
  if (Date.parse(s.accessTokenExpiresAt) - Date.now() < 30_000) {
    s = await api.refresh(s); // A saved session whose access token is (nearly) expired.
  }
  rt.session = s;
  api.saveSession(s);
  rt.ctx = { state: new ChatState(s.userId), openId: null, profiles: new Map(), presence: new Map(), typing: new Map() };
  rt.outbox = [];
  ui.me.textContent = `Signed in as ${s.displayName || s.userName || s.userId}`;
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.logout.hidden = false;
  settingsButton.hidden = false;
  resetMute();
  scheduleRefresh();
  render();
  ui.newChatUser.focus();
  void startPush().catch((e) => console.warn("service worker registration failed", e));
  await connect();
}

async function signOut(): Promise<void> {
  rt.session = null;
  api.saveSession(null);
  clearTimeout(refreshTimer);
  const c = rt.conn;
  rt.conn = null;
  await c?.stop();
  banner(null);
  ui.me.textContent = "";
  ui.chatView.hidden = true;
  ui.authView.hidden = false;
  ui.logout.hidden = true;
  settingsButton.hidden = true;
  showPrompt();
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

// --- wiring ----------------------------------------------------------------------------

on(ui.authForm, "submit", (e) => {
  e.preventDefault();
  return authenticate(false);
}, ui.authError);
on(ui.register, "click", () => authenticate(true), ui.authError);
on(ui.logout, "click", signOut);

on(ui.newChat, "submit", async (e) => {
  e.preventDefault();
  const p = await findUser(ui.newChatUser.value);
  if (p.userId === rt.ctx.state.me) {
    throw new Error("That is you: pick someone else.");
  }
  const existing = [...rt.ctx.state.conversations.values()].find((c) => c.kind === "direct" && c.peerUserId === p.userId);
  const c = existing ?? rt.ctx.state.conversation(draftId(p.userId), "direct");
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
  const c = rt.ctx.state.conversation(group.conversationId, "group");
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
  rt.ctx.state.applyCursors(c.id, await invoke<CursorDto[]>("GetReceipts", c.id));
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
  return compose(text);
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
