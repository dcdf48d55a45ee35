// The settings panel (profile, privacy, push on/off) and muting the open conversation.
import * as api from "./api";
import { invoke, on, renderHooks, rt, scheduleRender } from "./app";
import { type UserProfileDto } from "./hub";
import { disablePush, enablePush, pushChoice, pushSupported } from "./push";
import { isDraft } from "./state";
import * as view from "./view";

interface PrivacyDto {
  lastSeen: string;
  online: string;
  readReceipts: boolean;
  groupAdd: string;
  pushPreviews: boolean;
}

interface ConversationSettingsDto {
  conversationId: string;
  muted: boolean;
  mutedUntil: string | null;
  previews: string;
}

const ui = {
  open: view.byId<HTMLButtonElement>("settings-button"),
  dialog: view.byId<HTMLDialogElement>("settings-dialog"),
  profile: view.byId<HTMLFormElement>("profile-form"),
  displayName: view.byId<HTMLInputElement>("profile-display"),
  privacy: view.byId<HTMLFormElement>("privacy-form"),
  lastSeen: view.byId<HTMLSelectElement>("privacy-last-seen"),
  groupAdd: view.byId<HTMLSelectElement>("privacy-group-add"),
  readReceipts: view.byId<HTMLInputElement>("privacy-read-receipts"),
  pushPreviews: view.byId<HTMLInputElement>("privacy-push-previews"),
  push: view.byId<HTMLInputElement>("push-toggle"),
  pushState: view.byId("push-state"),
  status: view.byId("settings-status"),
  error: view.byId("settings-error"),
  mute: view.byId<HTMLButtonElement>("mute-button"),
  me: view.byId("me"),
};

/** Mute state of conversations this tab has looked up. */
const muted = new Map<string, boolean>();

function pushStateText(): string {
  if (!pushSupported()) {
    return "This browser cannot receive push notifications.";
  }
  if (Notification.permission === "denied") {
    return "Notifications are blocked for this site in the browser's settings.";
  }
  return pushChoice() === "on" ? "On: new messages notify you while this tab is closed." : "Off.";
}

async function openSettings(): Promise<void> {
  ui.status.textContent = "";
  ui.error.textContent = "";
  const me = rt.ctx.profiles.get(rt.ctx.state.me);
  ui.displayName.value = me?.displayName ?? rt.session?.displayName ?? "";
  ui.push.checked = pushChoice() === "on";
  ui.push.disabled = !pushSupported();
  ui.pushState.textContent = pushStateText();
  // Loaded before the panel opens, so nothing the user changes is overwritten by a late answer.
  const p = await invoke<PrivacyDto>("GetPrivacy");
  ui.lastSeen.value = p.lastSeen;
  ui.groupAdd.value = p.groupAdd;
  ui.readReceipts.checked = p.readReceipts;
  ui.pushPreviews.checked = p.pushPreviews;
  ui.dialog.showModal();
}

// Errors before the panel opens show in the sidebar.
on(ui.open, "click", openSettings);

on(ui.profile, "submit", async (e) => {
  e.preventDefault();
  const p = await invoke<UserProfileDto>("UpdateProfile", { displayName: ui.displayName.value.trim() });
  rt.ctx.profiles.set(p.userId, p);
  if (rt.session) {
    rt.session = { ...rt.session, displayName: p.displayName };
    api.saveSession(rt.session);
  }
  ui.me.textContent = `Signed in as ${p.displayName || p.userName}`;
  ui.status.textContent = "Profile saved.";
  scheduleRender();
}, ui.error);

on(ui.privacy, "submit", async (e) => {
  e.preventDefault();
  // Online follows last seen: one rule hides both.
  await invoke<PrivacyDto>("UpdatePrivacy", {
    lastSeen: ui.lastSeen.value, online: ui.lastSeen.value, groupAdd: ui.groupAdd.value,
    readReceipts: ui.readReceipts.checked, pushPreviews: ui.pushPreviews.checked,
  });
  ui.status.textContent = "Privacy saved.";
}, ui.error);

on(ui.push, "change", async () => {
  ui.status.textContent = "";
  try {
    await (ui.push.checked ? enablePush() : disablePush());
    ui.status.textContent = ui.push.checked ? "Push notifications on." : "Push notifications off.";
  } finally {
    ui.push.checked = pushChoice() === "on";
    ui.pushState.textContent = pushStateText();
  }
}, ui.error);

// --- mute ------------------------------------------------------------------------------

async function loadMute(conversationId: string): Promise<void> {
  const s = await invoke<ConversationSettingsDto>("GetConversationSettings", conversationId);
  muted.set(conversationId, s.muted);
  scheduleRender();
}

/** Forgets what the previous user of this tab had muted. */
export function resetMute(): void {
  muted.clear();
}

renderHooks.push((c) => {
  ui.mute.hidden = !c || isDraft(c.id);
  if (!c || isDraft(c.id)) {
    return;
  }
  if (!muted.has(c.id)) {
    muted.set(c.id, false);
    void loadMute(c.id).catch(() => muted.delete(c.id));
  }
  const isMuted = muted.get(c.id) === true;
  ui.mute.textContent = isMuted ? "Unmute" : "Mute";
  ui.mute.setAttribute("aria-pressed", String(isMuted));
});

on(ui.mute, "click", async () => {
  const id = rt.ctx.openId;
  if (!id) {
    return;
  }
  const s = await invoke<ConversationSettingsDto>("SetConversationSettings", id, { muted: !muted.get(id) });
  muted.set(id, s.muted);
  scheduleRender();
});
