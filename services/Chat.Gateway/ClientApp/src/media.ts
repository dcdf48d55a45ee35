// Attachments: uploads go straight to the gateway's blob endpoint with a signed URL
// (never through the hub), with a progress bar; messages show a thumbnail or a file link.
import type { AttachmentDto, HistoryDto, UploadDto } from "./hub";
import { type Conversation, type Message } from "./state";
import { connected, invoke, on, openConversation, rt, scheduleRender } from "./app";
import { send } from "./chat";
import { byId, el, messageHooks, type ViewContext } from "./view";

const attachButton = byId<HTMLButtonElement>("attach-button");
const attachInput = byId<HTMLInputElement>("attach-input");
const status = byId("upload-status");
const label = byId("upload-label");
const progress = byId<HTMLProgressElement>("upload-progress");

const isImage = (a: AttachmentDto) => (a.contentType ?? "").startsWith("image/");
const signed = (a: AttachmentDto) => a.uri.length > 0 && !a.uri.startsWith("media:");

function size(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} B`;
}

// --- uploading -------------------------------------------------------------------------

/** PUTs the file to the signed URL, reporting progress; resolves when the blob is stored. */
function put(url: string, file: File, contentType: string, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
        return;
      }
      let reason = `upload failed (${xhr.status})`;
      try {
        reason = JSON.parse(xhr.responseText).message ?? reason;
      } catch {
        // Not a JSON error body: keep the status.
      }
      reject(new Error(reason));
    };
    xhr.onerror = () => reject(new Error("The upload was interrupted; try again."));
    xhr.send(file);
  });
}

async function upload(file: File): Promise<void> {
  const c = openConversation();
  if (!c) {
    return;
  }
  const contentType = (file.type || "application/octet-stream").toLowerCase();
  const name = file.name || "file";
  status.hidden = false;
  progress.value = 0;
  label.textContent = `Uploading ${name}…`;
  attachButton.disabled = true;
  try {
    const target = await invoke<UploadDto>("CreateUpload", { contentType, sizeBytes: file.size, fileName: name });
    await put(target.uploadUrl, file, contentType, (f) => {
      progress.value = Math.round(f * 100);
      label.textContent = `Uploading ${name}… ${progress.value}%`;
    });
    if (rt.ctx.openId === c.id) {
      await send("", { mediaId: target.mediaId, fileName: name });
    }
  } finally {
    status.hidden = true;
    attachButton.disabled = false;
  }
}

attachButton.addEventListener("click", () => attachInput.click());
on(attachInput, "change", async () => {
  const file = attachInput.files?.[0];
  attachInput.value = "";
  if (file) {
    await upload(file);
  }
});

// --- showing attachments ---------------------------------------------------------------

// Per message: reads of the signed attachment so far (live deliveries carry only media:{id}, and a
// thumbnail is made a moment after the upload), so each is asked for a few times at most.
const lookups = new Map<string, { tries: number; busy: boolean }>();
const retryDelays = [0, 1000, 2000, 4000, 8000];

function refresh(c: Conversation, m: Message): void {
  const l = lookups.get(m.msgId) ?? { tries: 0, busy: false };
  lookups.set(m.msgId, l);
  if (l.busy || l.tries >= retryDelays.length || m.seq === 0) {
    return;
  }
  l.busy = true;
  window.setTimeout(async () => {
    try {
      if (!connected()) {
        return;
      }
      const page = await invoke<HistoryDto>("GetHistory", { conversationId: c.id, beforeSeq: m.seq + 1, limit: 1 });
      const fresh = page.messages.find((x) => x.seq === m.seq);
      if (fresh?.attachment) {
        m.attachment = fresh.attachment;
        scheduleRender();
      }
    } catch (e) {
      console.warn("reading an attachment failed", e);
    } finally {
      l.tries++;
      l.busy = false;
    }
  }, retryDelays[l.tries]);
}

function attachmentElement(a: AttachmentDto): HTMLElement {
  const name = a.fileName || "attachment";
  if (!signed(a)) {
    return el("span", "attachment", `📎 ${name}`);
  }
  const link = el("a", "attachment");
  link.href = a.uri;
  link.target = "_blank";
  link.rel = "noopener";
  if (isImage(a) && a.thumbnail) {
    const img = el("img");
    img.src = a.thumbnail.uri;
    img.width = a.thumbnail.width;
    img.height = a.thumbnail.height;
    img.alt = `${name}: open the full image`;
    link.append(img);
  } else {
    link.textContent = `${isImage(a) ? "🖼" : "📎"} ${name} (${size(a.sizeBytes)})`;
    if (!isImage(a)) {
      link.download = name;
    }
  }
  return link;
}

function renderAttachment(_ctx: ViewContext, c: Conversation, m: Message, li: HTMLLIElement): void {
  const current = li.querySelector<HTMLElement>(".attachment");
  const a = m.deleted ? null : m.attachment;
  if (!a) {
    current?.remove();
    return;
  }
  if (!signed(a) || (isImage(a) && !a.thumbnail)) {
    refresh(c, m);
  }
  // Rebuilt only when what it shows changed, so a shown image is not fetched again.
  const key = `${a.uri}|${a.thumbnail?.uri ?? ""}`;
  if (current?.dataset.key === key) {
    return;
  }
  const fresh = attachmentElement(a);
  fresh.dataset.key = key;
  if (current) {
    current.replaceWith(fresh);
  } else {
    li.querySelector(".text")!.before(fresh);
  }
}

messageHooks.push(renderAttachment);
