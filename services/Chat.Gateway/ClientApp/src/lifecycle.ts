// Replies, edits, deletes and reactions: the message menu, the composer's reply and
// edit modes, the quote above a reply and the reaction buttons under a message.
import type { LifecycleAcceptedDto } from "./hub";
import { type Conversation, type Message } from "./state";
import { invoke, on, openConversation, render, rt, scheduleRender, ui } from "./app";
import { newClientMsgId, send } from "./chat";
import { byId, el, messageHooks, nameOf, type ViewContext } from "./view";

const quickEmoji = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

const context = byId("composer-context");
const contextText = byId("composer-context-text");
const contextCancel = byId<HTMLButtonElement>("composer-context-cancel");

/** What the composer's next submit does besides sending plain text. */
let mode: { kind: "reply" | "edit"; conversationId: string; seq: number } | null = null;

const findBySeq = (c: Conversation, seq: number): Message | undefined => [...c.messages.values()].find((m) => m.seq === seq);

function summary(m: Message | undefined): string {
  if (!m) {
    return "an earlier message";
  }
  if (m.deleted) {
    return "a deleted message";
  }
  return m.text || (m.attachment ? `📎 ${m.attachment.fileName || "attachment"}` : "");
}

function setMode(next: typeof mode): void {
  mode = next;
  const c = openConversation();
  context.hidden = !mode || !c || c.id !== mode.conversationId;
  if (!mode || !c) {
    contextText.textContent = "";
    return;
  }
  const target = findBySeq(c, mode.seq);
  contextText.textContent = mode.kind === "reply"
    ? `Replying to ${target ? nameOf(rt.ctx, target.senderId) : "a message"}: ${summary(target)}`
    : "Editing your message";
  contextCancel.setAttribute("aria-label", mode.kind === "reply" ? "Cancel reply" : "Cancel edit");
}

function cancelMode(): void {
  if (mode?.kind === "edit") {
    ui.input.value = "";
  }
  setMode(null);
  ui.input.focus();
}

/** The composer's submit: an edit in edit mode, else a message (a reply in reply mode). */
export async function compose(text: string): Promise<void> {
  const c = openConversation();
  const current = mode && c && mode.conversationId === c.id ? mode : null;
  setMode(null);
  if (current?.kind === "edit") {
    if (text.trim()) {
      await lifecycle("EditMessage", c!, current.seq, { text });
    }
    return;
  }
  await send(text, { replyToSeq: current?.seq });
}

/** Calls EditMessage, DeleteMessage or React and applies the stored entry at once (the caller's connection gets no live copy). */
async function lifecycle(method: "EditMessage" | "DeleteMessage" | "React", c: Conversation, targetSeq: number, args: { text?: string; emoji?: string }): Promise<void> {
  const accepted = await invoke<LifecycleAcceptedDto>(method, { conversationId: c.id, targetSeq, clientMsgId: newClientMsgId(), ...args });
  rt.ctx.state.addMessage(accepted.entry);
  scheduleRender();
}

// --- the message menu ------------------------------------------------------------------

let menu: HTMLElement | null = null;
let menuOpener: HTMLButtonElement | null = null;

function closeMenu(refocus: boolean): void {
  menu?.remove();
  menu = null;
  menuOpener?.setAttribute("aria-expanded", "false");
  if (refocus) {
    menuOpener?.focus();
  }
  menuOpener = null;
}

function menuItem(label: string, action: () => Promise<void> | void, ariaLabel?: string): HTMLButtonElement {
  const b = el("button", undefined, label);
  b.type = "button";
  b.setAttribute("role", "menuitem");
  b.tabIndex = -1;
  if (ariaLabel) {
    b.setAttribute("aria-label", ariaLabel);
  }
  on(b, "click", () => {
    closeMenu(false);
    return action();
  });
  return b;
}

function openMenu(opener: HTMLButtonElement, c: Conversation, m: Message): void {
  closeMenu(false);
  const mine = m.senderId === rt.ctx.state.me;
  menu = el("div", "msg-menu");
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", "Message actions");
  menu.append(menuItem("Reply", () => {
    setMode({ kind: "reply", conversationId: c.id, seq: m.seq });
    ui.input.focus();
  }));
  const row = el("div", "emoji-row");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "React");
  const myReaction = m.reactions?.find((r) => r.mine)?.emoji;
  row.append(...quickEmoji.map((e) => menuItem(e, () => react(c, m, e === myReaction ? "" : e), e === myReaction ? `Remove ${e}` : `React ${e}`)));
  menu.append(row);
  if (mine && m.text && !m.attachment) {
    menu.append(menuItem("Edit", () => {
      setMode({ kind: "edit", conversationId: c.id, seq: m.seq });
      ui.input.value = m.text;
      ui.input.focus();
    }));
  }
  if (mine) {
    menu.append(menuItem("Delete for everyone", () => lifecycle("DeleteMessage", c, m.seq, {})));
  }
  menu.addEventListener("keydown", menuKeys);
  document.body.append(menu);
  const r = opener.getBoundingClientRect();
  menu.style.top = `${Math.min(r.bottom + 4, window.innerHeight - menu.offsetHeight - 8)}px`;
  menu.style.left = `${Math.max(8, Math.min(r.right - menu.offsetWidth, window.innerWidth - menu.offsetWidth - 8))}px`;
  menuOpener = opener;
  opener.setAttribute("aria-expanded", "true");
  menu.querySelector<HTMLElement>("[role=menuitem]")?.focus();
}

function menuKeys(e: KeyboardEvent): void {
  const items = [...(menu?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
  const i = items.indexOf(document.activeElement as HTMLElement);
  const moves: Record<string, number> = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: items.length - 1 };
  if (e.key in moves) {
    e.preventDefault();
    items[(moves[e.key] + items.length) % items.length]?.focus();
  } else if (e.key === "Escape") {
    e.preventDefault();
    closeMenu(true);
  } else if (e.key === "Tab") {
    closeMenu(false);
  }
}

function react(c: Conversation, m: Message, emoji: string): Promise<void> {
  return lifecycle("React", c, m.seq, { emoji });
}

// --- what each message shows -----------------------------------------------------------

function renderExtras(ctx: ViewContext, c: Conversation, m: Message, li: HTMLLIElement): void {
  const text = li.querySelector(".text")!;
  // The quote of the message this one answers.
  let quote = li.querySelector<HTMLButtonElement>(".quote");
  if (m.replyToSeq && !m.deleted) {
    if (!quote) {
      quote = el("button", "quote");
      quote.type = "button";
      quote.dataset.action = "quote";
      (li.querySelector(".attachment") ?? text).before(quote);
    }
    const target = findBySeq(c, m.replyToSeq);
    quote.dataset.seq = String(m.replyToSeq);
    quote.textContent = `${target ? nameOf(ctx, target.senderId) : "Reply"}: ${summary(target)}`;
    quote.setAttribute("aria-label", `In reply to ${quote.textContent}. Show it`);
  } else {
    quote?.remove();
  }
  // Reactions: one button per emoji; pressing mine removes it, another sets mine.
  li.querySelector(".reactions")?.remove();
  if (m.reactions?.length && !m.deleted) {
    const row = el("div", "reactions");
    for (const r of m.reactions) {
      const b = el("button", "reaction", `${r.emoji} ${r.count}`);
      b.type = "button";
      b.dataset.action = "react";
      b.dataset.emoji = r.emoji;
      b.setAttribute("aria-pressed", String(r.mine));
      b.setAttribute("aria-label", `${r.emoji} ${r.count}${r.mine ? ", yours: press to remove" : ": press to react"}`);
      row.append(b);
    }
    li.querySelector(".meta")!.before(row);
  }
  // The menu, for stored messages that are not deleted.
  let button = li.querySelector<HTMLButtonElement>(".msg-menu-button");
  if (m.seq > 0 && !m.deleted && !m.pending) {
    if (!button) {
      button = el("button", "msg-menu-button", "⋯");
      button.type = "button";
      button.dataset.action = "menu";
      button.setAttribute("aria-haspopup", "menu");
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", "Message actions");
      li.append(button);
    }
  } else {
    button?.remove();
  }
}

messageHooks.push(renderExtras);

on(ui.messages, "click", async (e: MouseEvent) => {
  const target = (e.target as HTMLElement).closest<HTMLElement>("[data-action]");
  const li = target?.closest<HTMLLIElement>("li.msg");
  const c = openConversation();
  const m = c && li ? findBySeq(c, Number(li.dataset.seq)) : undefined;
  if (!target || !c || !m) {
    return;
  }
  switch (target.dataset.action) {
    case "menu":
      openMenu(target as HTMLButtonElement, c, m);
      return;
    case "react":
      await react(c, m, m.reactions?.find((r) => r.emoji === target.dataset.emoji)?.mine ? "" : target.dataset.emoji!);
      return;
    case "quote":
      ui.messages.querySelector<HTMLElement>(`li[data-seq="${Number(target.dataset.seq)}"]`)?.scrollIntoView({ block: "center" });
      return;
  }
});

document.addEventListener("pointerdown", (e) => {
  if (menu && !menu.contains(e.target as Node) && e.target !== menuOpener) {
    closeMenu(false);
  }
});
contextCancel.addEventListener("click", cancelMode);
ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && mode) {
    e.preventDefault();
    cancelMode();
  }
});
// Leaving the conversation ends a reply or edit that belonged to it.
document.addEventListener("conversation-opened", () => {
  closeMenu(false);
  setMode(mode && mode.conversationId === rt.ctx.openId ? mode : null);
  render();
});
