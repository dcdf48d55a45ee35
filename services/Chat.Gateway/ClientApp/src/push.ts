// Web Push: the service worker (wwwroot/sw.js), the notification permission prompt, and the
// browser's push subscription registered for this device with RegisterDevice.
import { invoke, on, rt } from "./app";
import { open } from "./chat";
import * as view from "./view";

const pushKey = "chat.push";

const ui = {
  prompt: view.byId("push-prompt"),
  enable: view.byId<HTMLButtonElement>("push-prompt-enable"),
  dismiss: view.byId<HTMLButtonElement>("push-prompt-dismiss"),
  promptError: view.byId("push-prompt-error"),
};

/** True when this browser can do Web Push at all (secure context, service workers, Push API). */
export const pushSupported = () => window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

/** "on" after the user turned push on here, "off" after they turned it off or said not now. */
export const pushChoice = () => localStorage.getItem(pushKey);

function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function vapidPublicKey(): Promise<string> {
  const res = await fetch("/api/push/vapid-public-key");
  const json = await res.json().catch(() => null);
  if (!res.ok || !json?.publicKey) {
    throw new Error(json?.message ?? `The server has no push key (${res.status}).`);
  }
  return json.publicKey as string;
}

/** Registers the service worker (every sign-in: it also shows pushes while no tab is open). */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in navigator)) {
    return null;
  }
  const registration = await navigator.serviceWorker.register("/sw.js");
  // A click on a notification while a tab is open: the service worker asks this tab to open the chat.
  navigator.serviceWorker.onmessage = (e: MessageEvent) => {
    if (e.data?.type === "open-conversation" && e.data.conversationId && rt.session) {
      void open(e.data.conversationId).catch((err) => console.warn("open from notification failed", err));
    }
  };
  return registration;
}

/** Asks for permission (a user gesture must lead here), subscribes, and registers this device for push. */
export async function enablePush(): Promise<void> {
  if (!pushSupported()) {
    throw new Error("This browser cannot receive push notifications.");
  }
  if ((await Notification.requestPermission()) !== "granted") {
    throw new Error("Notifications are blocked for this site; allow them in the browser's site settings.");
  }
  const registration = (await registerServiceWorker())!;
  await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    try {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey(await vapidPublicKey()) });
    } catch (e) {
      throw new Error(`The browser's push service refused the subscription: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const json = subscription.toJSON();
  await invoke("RegisterDevice", {
    platform: "webpush",
    deviceId: rt.session!.deviceId,
    subscription: { endpoint: json.endpoint, p256dh: json.keys?.p256dh, auth: json.keys?.auth },
  });
  localStorage.setItem(pushKey, "on");
  showPrompt();
}

/** Drops the subscription and the device's push registration. */
export async function disablePush(): Promise<void> {
  localStorage.setItem(pushKey, "off");
  const registration = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : undefined;
  await (await registration?.pushManager.getSubscription())?.unsubscribe();
  if (rt.session) {
    await invoke("UnregisterDevice", rt.session.deviceId);
  }
  showPrompt();
}

/** The prompt shows while the user has not decided (permission not asked yet, no choice made here). */
export function showPrompt(): void {
  ui.prompt.hidden = !rt.session || !pushSupported() || Notification.permission !== "default" || pushChoice() !== null;
}

/** After sign-in: the worker is registered; a chosen subscription is registered again (it may have changed). */
export async function startPush(): Promise<void> {
  showPrompt();
  if (!pushSupported()) {
    return;
  }
  await registerServiceWorker();
  if (pushChoice() === "on" && Notification.permission === "granted") {
    await enablePush().catch((e) => console.warn("push registration failed", e));
  }
}

on(ui.enable, "click", enablePush, ui.promptError);
on(ui.dismiss, "click", () => {
  localStorage.setItem(pushKey, "off");
  showPrompt();
}, ui.promptError);
