// Profiles, presence, typing and delivered/read receipts.
import { isMissingMethod, type PresenceDto, type UserProfileDto, type CursorDto } from "./hub";
import { isDraft, type Conversation } from "./state";
import { connected, invoke, openConversation, rt, scheduleRender } from "./app";

let presenceSupported = true;
let typingSupported = true;

// --- profiles and presence -------------------------------------------------------------

const profileRequests = new Set<string>();
const profilesToRetry = new Set<string>();
const maxProfilesPerCall = 100; // ChatLimits.MaxProfilesPerCall
let profileRetryTimer = 0;
let profileRetryDelay = 500;

/**
 * Loads the profiles (names) of users not known yet. Names are cosmetic: this never fails its
 * caller (opening a chat, loading history). A failed or impossible request is tried again with
 * backoff until it succeeds, so a transient error never leaves a raw user id shown.
 */
export async function ensureProfiles(userIds: Iterable<string>): Promise<void> {
  const missing = [...new Set(userIds)].filter((id) => id && !rt.ctx.profiles.has(id) && !profileRequests.has(id));
  if (missing.length === 0) {
    return;
  }
  if (!connected()) {
    retryProfilesLater(missing);
    return;
  }
  missing.forEach((id) => profileRequests.add(id));
  try {
    for (let i = 0; i < missing.length; i += maxProfilesPerCall) {
      for (const p of await invoke<UserProfileDto[]>("GetProfiles", missing.slice(i, i + maxProfilesPerCall))) {
        rt.ctx.profiles.set(p.userId, p);
      }
    }
    profileRetryDelay = 500;
    scheduleRender();
  } catch (e) {
    console.warn("GetProfiles failed; trying again", e);
    retryProfilesLater(missing.filter((id) => !rt.ctx.profiles.has(id)));
  } finally {
    missing.forEach((id) => profileRequests.delete(id));
  }
}

/** After a (re)connect: the names that could not be loaded are asked for at once. */
export function retryProfilesNow(): void {
  clearTimeout(profileRetryTimer);
  profileRetryDelay = 500;
  retryProfiles();
}

function retryProfiles(): void {
  profileRetryTimer = 0;
  const ids = [...profilesToRetry];
  profilesToRetry.clear();
  void ensureProfiles(ids);
}

function retryProfilesLater(userIds: string[]): void {
  userIds.forEach((id) => profilesToRetry.add(id));
  if (profileRetryTimer === 0 && profilesToRetry.size > 0) {
    profileRetryTimer = window.setTimeout(retryProfiles, profileRetryDelay);
    profileRetryDelay = Math.min(profileRetryDelay * 2, 30000);
  }
}

/** Asks for the presence of every direct-chat peer; hidden quietly when the server has no presence yet. */
export async function watchPresence(): Promise<void> {
  const peers = [...new Set([...rt.ctx.state.conversations.values()].filter((c) => c.kind === "direct" && c.peerUserId).map((c) => c.peerUserId))];
  if (!presenceSupported || peers.length === 0 || !connected()) {
    return;
  }
  try {
    for (const p of (await invoke<PresenceDto[]>("WatchPresence", peers)) ?? []) {
      rt.ctx.presence.set(p.userId, p);
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

export function noteTyping(): void {
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

export function stopTyping(): void {
  clearTimeout(typingIdle);
  if (typingConversation) {
    setTyping(typingConversation, false);
    typingConversation = "";
    typingSentAt = 0;
  }
}

// --- receipts --------------------------------------------------------------------------

const deliveredTimers = new Map<string, number>();
export function scheduleDelivered(c: Conversation): void {
  if (deliveredTimers.has(c.id)) {
    return;
  }
  deliveredTimers.set(c.id, window.setTimeout(() => {
    deliveredTimers.delete(c.id);
    const top = rt.ctx.state.newestFromOthers(c);
    if (top > c.myDelivered && connected()) {
      c.myDelivered = top;
      invoke<CursorDto>("UpdateReceipt", { conversationId: c.id, kind: "delivered", upToSeq: top }).catch((e) => console.warn("delivered receipt failed", e));
    }
  }, 50));
}

/** Read receipts go out only while the chat is open and the page is visible. */
export function markRead(c: Conversation | undefined): void {
  if (!c || c.id !== rt.ctx.openId || document.visibilityState !== "visible" || isDraft(c.id)) {
    return;
  }
  c.unread = 0;
  const top = rt.ctx.state.newestFromOthers(c);
  if (top > c.myRead && connected()) {
    c.myRead = top;
    c.myDelivered = Math.max(c.myDelivered, top);
    invoke<CursorDto>("UpdateReceipt", { conversationId: c.id, kind: "read", upToSeq: top }).catch((e) => console.warn("read receipt failed", e));
  }
  scheduleRender();
}
