// The SignalR connection to /hubs/chat and the shapes of what travels on it (camelCase JSON).
import * as signalR from "@microsoft/signalr";

export interface MessageDto {
  conversationId: string;
  seq: number;
  msgId: string;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  text: string;
  /** An upload: uri is a signed download URL, or "media:{id}" in live deliveries (read the message again for a URL). */
  attachment?: AttachmentDto | null;
  /** The message this one answers (0: none). */
  replyToSeq?: number;
  sentAt: string;
  /** "message", or an "edit" | "delete" | "reaction" entry changing the message at targetSeq. */
  kind?: "message" | "edit" | "delete" | "reaction";
  targetSeq?: number;
  editedAt?: string | null;
  deleted?: boolean;
  reactions?: { emoji: string; count: number; mine: boolean }[] | null;
}

export interface ThumbnailDto {
  uri: string;
  contentType: string;
  width: number;
  height: number;
}

export interface AttachmentDto {
  uri: string;
  contentType: string | null;
  sizeBytes: number;
  fileName: string | null;
  mediaId: string | null;
  /** Images get one shortly after upload (absent until then, and for other files). */
  thumbnail?: ThumbnailDto | null;
}

/** Where to PUT the file (with its Content-Type) until expiresAt; then send a message with attachment {mediaId}. */
export interface UploadDto {
  mediaId: string;
  uploadUrl: string;
  expiresAt: string;
}

export interface LifecycleAcceptedDto {
  clientMsgId: string;
  entry: MessageDto;
  duplicate: boolean;
}

export interface MessageAcceptedDto {
  clientMsgId: string;
  message: MessageDto;
  duplicate: boolean;
}

export interface ReceiptDto {
  conversationId: string;
  userId: string;
  kind: "delivered" | "read";
  upToSeq: number;
}

export interface CursorDto {
  userId: string;
  deliveredSeq: number;
  readSeq: number;
}

export interface ConversationSummaryDto {
  conversationId: string;
  kind: "direct" | "group";
  title: string;
  peerUserId: string;
  lastMessage: MessageDto | null;
  unreadCount: number;
  myCursor: CursorDto;
  memberCount: number;
}

export interface ConversationDeltaDto {
  conversationId: string;
  kind: "direct" | "group";
  epoch: number;
  messages: MessageDto[];
  lastSeq: number;
  hasMore: boolean;
  gap: "" | "limit" | "reset" | "cursor_ahead";
  gapFromSeq: number;
  receipts: CursorDto[];
  /** The user left or was removed: drop the conversation. */
  removed: boolean;
}

export interface SyncResultDto {
  deltas: ConversationDeltaDto[];
  hasMore: boolean;
  /** Pass as receiptsSince next time, so receipts that moved meanwhile come back. */
  syncedAt: string | null;
}

export interface ConversationPageDto {
  conversations: ConversationSummaryDto[];
  nextPageToken: string | null;
}

export interface GroupChangedDto {
  conversationId: string;
  kind: "created" | "members_added" | "member_removed" | "member_left" | "role_changed" | "renamed";
  actorId: string;
  userIds: string[];
  role: string | null;
  title: string;
  ownerId: string;
  memberIds: string[];
  at: string;
}

export interface HistoryDto {
  messages: MessageDto[];
  hasMore: boolean;
  lastSeq: number;
}

export interface UserProfileDto {
  userId: string;
  userName: string;
  displayName: string;
}

export interface GroupDto {
  groupId: string;
  conversationId: string;
  title: string;
  memberCount: number;
}

export interface PresenceDto {
  userId: string;
  online: boolean;
  lastSeen: string | null;
  visible: boolean;
}

export interface TypingDto {
  conversationId: string;
  userId: string;
  typing: boolean;
}

export interface SyncCursor {
  conversationId: string;
  epoch: number;
  lastSeq: number;
}

/** Retries forever: quickly at first, then every 5 s. */
const retryDelays = [0, 500, 1000, 2000, 5000];

export function createConnection(accessToken: () => string): signalR.HubConnection {
  return new signalR.HubConnectionBuilder()
    .withUrl("/hubs/chat", { accessTokenFactory: accessToken })
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (ctx) => retryDelays[Math.min(ctx.previousRetryCount, retryDelays.length - 1)] })
    // A short drop resumes the same connection with nothing lost (the gateway resends what it
    // buffered); only when that fails (offline, or past the gateway's window) does the client
    // reconnect anew, which the app answers with Sync (onreconnected).
    .withStatefulReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

/** True when the server has no such hub method (a feature not deployed yet). */
export function isMissingMethod(error: unknown): boolean {
  return error instanceof Error && /Method does not exist|Unknown hub method/i.test(error.message);
}

/** The "{code}: {message}" of a hub error, without SignalR's prefix. */
export function hubErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const i = text.indexOf("HubException: ");
  return i >= 0 ? text.slice(i + "HubException: ".length) : text;
}
