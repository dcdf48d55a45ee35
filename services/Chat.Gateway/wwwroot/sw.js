// @ts-check
// The web client's service worker: shows a notification for each Web Push (the JSON the delivery
// app encrypts for this subscription: title, body, tag, conversation_id, seq, msg_id) and opens
// the chat when the notification is clicked.
/// <reference lib="webworker" />
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener("install", () => void sw.skipWaiting());
sw.addEventListener("activate", (event) => event.waitUntil(sw.clients.claim()));

sw.addEventListener("push", (event) => {
  /** @type {{title?: string, body?: string, tag?: string, conversation_id?: string, badge?: number}} */
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    // Not JSON: show the generic notification rather than nothing (a push must be shown).
  }
  const conversationId = data.conversation_id || data.tag || "";
  event.waitUntil(sw.registration.showNotification(data.title || "New message", {
    body: data.body || "New message",
    tag: conversationId || undefined,
    data: { conversationId },
  }));
});

sw.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const conversationId = event.notification.data?.conversationId || "";
  const url = new URL(conversationId ? `/?c=${encodeURIComponent(conversationId)}` : "/", sw.location.origin).href;
  event.waitUntil((async () => {
    const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).origin === sw.location.origin);
    if (open) {
      // The open client switches to the chat itself (push.ts listens for this message).
      open.postMessage({ type: "open-conversation", conversationId });
      await open.focus();
      return;
    }
    await sw.clients.openWindow(url);
  })());
});
