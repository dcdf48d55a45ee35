// Shared runtime of the web client: page elements, the session and hub connection, rendering and small helpers.
import { HubConnectionState, type HubConnection } from "@microsoft/signalr";
import * as api from "./api";
import { hubErrorMessage, type UserProfileDto } from "./hub";
import { ChatState, type Conversation } from "./state";
import * as view from "./view";

export const ui = {
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

/** A send waiting for its ack: text, optionally answering replyToSeq or carrying an uploaded mediaId. */
export interface OutboxItem {
  conversationId: string;
  clientMsgId: string;
  text: string;
  replyToSeq?: number;
  mediaId?: string;
}

/** The session, the hub connection and the view state, shared by the feature modules. */
export const rt: {
  session: api.Session | null;
  conn: HubConnection | null;
  ctx: view.ViewContext;
  /** Pending sends in order; flushed whenever the connection is up (same clientMsgId, so retries are idempotent). */
  outbox: OutboxItem[];
} = {
  session: null,
  conn: null,
  ctx: { state: new ChatState(""), openId: null, profiles: new Map(), presence: new Map(), typing: new Map() },
  outbox: [],
};

export const connected = () => rt.conn?.state === HubConnectionState.Connected;
export const openConversation = () => (rt.ctx.openId ? rt.ctx.state.conversations.get(rt.ctx.openId) : undefined);

export async function invoke<T>(method: string, ...args: unknown[]): Promise<T> {
  // Right after sign-in the first connection may still be starting: wait for it (briefly)
  // instead of failing a call the user made a moment too early. A reconnect fails fast.
  const deadline = Date.now() + 15000;
  while (rt.conn && rt.conn.state === HubConnectionState.Connecting && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!rt.conn) {
    throw new Error("not connected");
  }
  return rt.conn.invoke<T>(method, ...args);
}

export function showError(target: HTMLElement, error: unknown): void {
  if (error instanceof api.ApiError) {
    target.textContent = error.message;
  } else if (rt.conn && !connected()) {
    target.textContent = "The connection dropped; try again once it is back.";
  } else {
    target.textContent = hubErrorMessage(error);
  }
}

export function banner(text: string | null): void {
  ui.banner.hidden = text === null;
  ui.banner.textContent = text ?? "";
}

// --- rendering -------------------------------------------------------------------------

/** Feature modules add what they show of the open conversation (header buttons, panels). */
export const renderHooks: ((c: Conversation | undefined) => void)[] = [];

export function render(): void {
  view.renderConversationList(rt.ctx, ui.list);
  const c = openConversation();
  renderHooks.forEach((hook) => hook(c));
  ui.composer.hidden = !c;
  ui.addMember.hidden = c?.kind !== "group";
  ui.loadOlder.hidden = !c?.hasOlder;
  if (!c) {
    ui.title.textContent = "Select a conversation";
    ui.status.textContent = "";
    ui.typing.textContent = "";
    view.renderMessages(rt.ctx, undefined, ui.messages);
    return;
  }
  ui.title.textContent = view.titleOf(rt.ctx, c);
  ui.status.textContent = c.kind === "group" ? `${c.memberCount} members` : view.presenceText(rt.ctx, c.peerUserId);
  ui.typing.textContent = view.typingText(rt.ctx, c.id);
  view.renderMessages(rt.ctx, c, ui.messages);
}

let renderQueued = false;
export function scheduleRender(): void {
  if (!renderQueued) {
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      render();
    });
  }
}

export async function findUser(userName: string): Promise<UserProfileDto> {
  const p = await invoke<UserProfileDto>("FindUser", userName.trim().toLowerCase());
  rt.ctx.profiles.set(p.userId, p);
  return p;
}

export function on<T extends Event>(target: EventTarget, type: string, handler: (e: T) => Promise<void> | void, errorTarget = ui.sidebarError): void {
  target.addEventListener(type, (e) => {
    errorTarget.textContent = "";
    Promise.resolve(handler(e as T)).catch((err) => showError(errorTarget, err));
  });
}
