// Group management: the members with their roles, adding and removing members, roles, renaming and leaving.
import { findUser, invoke, on, openConversation, renderHooks, rt, scheduleRender } from "./app";
import { dropConversation } from "./chat";
import { ensureProfiles } from "./live";
import { type GroupChangedDto, type GroupDto } from "./hub";
import { type Conversation } from "./state";
import * as view from "./view";

interface GroupMemberDto {
  userId: string;
  role: "owner" | "admin" | "member";
  joinedAt: string;
}

interface GroupDetailsDto {
  group: GroupDto;
  myRole: "owner" | "admin" | "member";
  members: GroupMemberDto[];
}

const ui = {
  open: view.byId<HTMLButtonElement>("group-button"),
  dialog: view.byId<HTMLDialogElement>("group-dialog"),
  title: view.byId("group-dialog-title"),
  rename: view.byId<HTMLFormElement>("rename-form"),
  renameTitle: view.byId<HTMLInputElement>("rename-title"),
  members: view.byId<HTMLUListElement>("member-list"),
  add: view.byId<HTMLFormElement>("group-add-form"),
  addUser: view.byId<HTMLInputElement>("group-add-user"),
  leave: view.byId<HTMLButtonElement>("leave-group"),
  error: view.byId("group-error"),
};

/** The group the dialog shows, as last loaded. */
let shown: GroupDetailsDto | null = null;

const canManage = () => shown?.myRole === "owner" || shown?.myRole === "admin";

function memberItem(m: GroupMemberDto): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "member";
  li.dataset.userId = m.userId;
  const name = view.nameOf(rt.ctx, m.userId) + (m.userId === rt.ctx.state.me ? " (you)" : "");
  const label = document.createElement("span");
  label.className = "member-name";
  label.textContent = name;
  li.append(label);
  const editable = canManage() && m.userId !== rt.ctx.state.me && m.role !== "owner";
  if (editable) {
    // Admins and the owner change roles and remove members; nobody changes or removes the owner.
    const role = document.createElement("select");
    role.className = "member-role";
    role.setAttribute("aria-label", `Role of ${name}`);
    for (const r of ["member", "admin"]) {
      role.add(new Option(r === "admin" ? "Admin" : "Member", r, false, m.role === r));
    }
    role.dataset.userId = m.userId;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "member-remove";
    remove.textContent = `Remove ${name}`;
    remove.dataset.userId = m.userId;
    li.append(role, remove);
  } else {
    const role = document.createElement("span");
    role.className = "member-role";
    role.textContent = m.role === "owner" ? "Owner" : m.role === "admin" ? "Admin" : "Member";
    li.append(role);
  }
  return li;
}

function renderGroup(): void {
  if (!shown) {
    return;
  }
  ui.title.textContent = shown.group.title;
  ui.rename.hidden = !canManage();
  ui.add.hidden = !canManage();
  ui.members.replaceChildren(...shown.members.map(memberItem));
}

async function load(conversationId: string): Promise<void> {
  shown = await invoke<GroupDetailsDto>("GetGroup", conversationId);
  await ensureProfiles(shown.members.map((m) => m.userId));
  const c = rt.ctx.state.conversations.get(conversationId);
  if (c) {
    c.title = shown.group.title;
    c.memberCount = shown.group.memberCount;
  }
  renderGroup();
  scheduleRender();
}

function current(): Conversation {
  const c = openConversation();
  if (!c || c.kind !== "group") {
    throw new Error("Open a group first.");
  }
  return c;
}

renderHooks.push((c) => {
  ui.open.hidden = c?.kind !== "group";
  if (ui.dialog.open && shown && c?.id !== shown.group.conversationId) {
    ui.dialog.close(); // The group was left, or another chat opened.
  }
});

// Someone changed the group while the dialog is open: show it as it is now.
document.addEventListener("group-changed", (e) => {
  const g = (e as CustomEvent<GroupChangedDto>).detail;
  if (ui.dialog.open && shown?.group.conversationId === g.conversationId) {
    void load(g.conversationId).catch(() => {});
  }
});

on(ui.open, "click", async () => {
  const c = current();
  ui.error.textContent = "";
  ui.renameTitle.value = c.title;
  shown = null;
  ui.members.replaceChildren();
  ui.dialog.showModal();
  await load(c.id);
  ui.renameTitle.value = shown!.group.title;
}, ui.error);

on(ui.rename, "submit", async (e) => {
  e.preventDefault();
  const c = current();
  await invoke<GroupDto>("RenameGroup", c.id, ui.renameTitle.value.trim());
  await load(c.id);
}, ui.error);

on(ui.add, "submit", async (e) => {
  e.preventDefault();
  const c = current();
  const p = await findUser(ui.addUser.value);
  await invoke("AddMembers", shown!.group.groupId, [p.userId]);
  ui.addUser.value = "";
  await load(c.id);
}, ui.error);

on(ui.members, "change", async (e) => {
  const select = (e.target as HTMLElement).closest<HTMLSelectElement>("select.member-role");
  if (select?.dataset.userId) {
    await invoke("SetRole", current().id, select.dataset.userId, select.value);
    await load(current().id);
  }
}, ui.error);

on(ui.members, "click", async (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button.member-remove");
  if (button?.dataset.userId) {
    await invoke<GroupDto>("RemoveMember", current().id, button.dataset.userId);
    await load(current().id);
  }
}, ui.error);

on(ui.leave, "click", async () => {
  const c = current();
  if (!window.confirm(`Leave "${c.title}"? You will no longer get its messages.`)) {
    return;
  }
  await invoke<GroupDto>("LeaveGroup", c.id);
  ui.dialog.close();
  dropConversation(c.id);
}, ui.error);
