// The bots app (Dapr app-id `bots`): messages to a bot (1:1) or mentioning it in a group
// (@user_name) arrive on `bot-message-created`; each goes to the bot's webhook through the
// `bot-webhooks` HTTP output binding, signed; a JSON reply {"text": "..."} is posted back as the
// bot's message through MessagingService.SendMessage (gRPC proxying through the sidecar).
//
// Who may call it: only its sidecar (APP_API_TOKEN as dapr-api-token on every request).
import crypto from "node:crypto";
import { CommunicationProtocolEnum, DaprClient, DaprPubSubStatusEnum, DaprServer } from "@dapr/dapr";
import * as grpc from "@grpc/grpc-js";
import { loadConfig } from "./config";
import { decodeMessageCreated, loadChatProto } from "./contracts";
import { startHealthListener } from "./health";
import { deadline, proxyMetadata, sidecarGrpcAddress, unary } from "./sidecar";
import { BotTarget, WebhookDispatcher, WebhookEvent } from "./webhooks";
import type { MessageCreated__Output } from "./gen/chat/v1/MessageCreated";
import type { GetBotWebhooksResponse__Output } from "./gen/chat/v1/GetBotWebhooksResponse";
import type { IssueBotTokenResponse__Output } from "./gen/chat/v1/IssueBotTokenResponse";
import type { SendMessageResponse__Output } from "./gen/chat/v1/SendMessageResponse";

// Names as in Chat.Domain.DaprNames.
const Pubsub = "chat-pubsub";
// Only messages of conversations with a bot member (router publishes them apart from message-created).
const BotMessageCreatedTopic = "bot-message-created";
const DirectoryApp = "directory";
const MessagingApp = "messaging";

const config = loadConfig();
const log = (line: string) => console.log(`[bots] ${line}`);

const proto = loadChatProto();
const address = sidecarGrpcAddress();
const botsDirectory = new proto.chat.v1.BotInternalService(address, grpc.credentials.createInsecure());
const messaging = new proto.chat.v1.MessagingService(address, grpc.credentials.createInsecure());

// Bot access tokens from directory, reused until a minute before they expire.
const tokens = new Map<string, { token: string; expiresAt: number }>();
async function botToken(botUserId: string): Promise<string> {
  const cached = tokens.get(botUserId);
  if (cached && cached.expiresAt - 60_000 > Date.now()) {
    return cached.token;
  }

  const issued = await unary<IssueBotTokenResponse__Output>((cb) => botsDirectory.issueBotToken({ botUserId }, proxyMetadata(DirectoryApp), deadline(), cb));
  const expiresAt = Number(issued.expiresAt?.seconds ?? 0) * 1000;
  tokens.set(botUserId, { token: issued.accessToken, expiresAt });
  return issued.accessToken;
}

const bindings = new DaprClient({ communicationProtocol: CommunicationProtocolEnum.GRPC });
const dispatcher = new WebhookDispatcher(config, {
  invokeBinding: async (body, metadata) => {
    // Over gRPC the SDK returns the InvokeBindingResponse: the body's bytes and the binding's metadata (statusCode).
    const result = (await bindings.binding.send(config.webhookBinding, "create", body, metadata)) as { data?: Uint8Array; metadata?: Record<string, string> };
    return { data: result.data ?? new Uint8Array(), metadata: result.metadata ?? {} };
  },
  reply: async (target: BotTarget, event: WebhookEvent, text: string) => {
    const token = await botToken(target.botUserId);
    await unary<SendMessageResponse__Output>((cb) => messaging.sendMessage({
      conversationId: event.message.conversation_id,
      // One reply per message and bot: a retried reply is stored once.
      clientMsgId: `reply-${event.message.msg_id}`,
      content: { text },
    }, proxyMetadata(MessagingApp, token), deadline(), cb));
  },
  log,
});

const mentionChars = "a-z0-9_.-";
function mentions(text: string, userName: string): boolean {
  const escaped = userName.replace(/[.\-]/g, "\\$&");
  return new RegExp(`(^|[^${mentionChars}])@${escaped}(?=$|[^${mentionChars}]|\\.(?:$|\\s))`, "i").test(text);
}

/** Finds the bots a stored message is for and queues one webhook delivery per bot. */
async function route(created: MessageCreated__Output): Promise<void> {
  const message = created.message;
  // Bots never trigger bots (no reply loops).
  if (!message || message.senderId.startsWith("b")) {
    return;
  }

  const group = created.kind === "CONVERSATION_KIND_GROUP";
  const text = message.content?.text ?? "";
  // Bot accounts' ids start with "b": most messages need no lookup at all.
  const botIds = created.memberIds.filter((id) => id.startsWith("b"));
  if (botIds.length === 0 || (group && !text.includes("@"))) {
    return;
  }

  const found = await unary<GetBotWebhooksResponse__Output>((cb) => botsDirectory.getBotWebhooks({ userIds: botIds }, proxyMetadata(DirectoryApp), deadline(), cb));
  for (const hook of found.webhooks) {
    if (group && !mentions(text, hook.userName)) {
      continue;
    }

    dispatcher.enqueue(
      { botUserId: hook.botUserId, userName: hook.userName, webhookUrl: hook.webhookUrl, signingSecret: hook.signingSecret },
      {
        type: "message",
        delivery_id: `${message.msgId}.${hook.botUserId}`,
        bot: { user_id: hook.botUserId, user_name: hook.userName },
        message: {
          conversation_id: message.conversationId,
          kind: group ? "group" : "direct",
          msg_id: message.msgId,
          seq: message.seq,
          sender_id: message.senderId,
          text,
          sent_at: new Date(Number(message.sentAt?.seconds ?? 0) * 1000 + Math.floor((message.sentAt?.nanos ?? 0) / 1e6)).toISOString(),
        },
      });
  }
}

interface ExpressLike {
  use(handler: (
    req: { header(name: string): string | undefined; body: unknown },
    res: { status(code: number): { json(body: unknown): void } },
    next: () => void) => void): void;
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? "", "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

async function main(): Promise<void> {
  const server = new DaprServer({
    serverHost: "127.0.0.1",
    serverPort: String(config.appPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
  });
  // The SDK's HTTP server is Express; this runs after its body parsers and before its routes.
  const http = server.daprServer.getServer() as ExpressLike;
  http.use((req, res, next) => {
    // Only the sidecar knows APP_API_TOKEN: every callback (discovery, deliveries) must carry it.
    if (config.appApiToken && !tokenMatches(req.header("dapr-api-token"), config.appApiToken)) {
      res.status(401).json({ error: "this app is only callable by its Dapr sidecar (missing or wrong dapr-api-token)" });
      return;
    }

    // The SDK hands a handler data_base64 as a UTF-8 string, which mangles binary protobuf: keep the bytes.
    const body = req.body as Record<string, unknown> | undefined;
    if (body && typeof body === "object" && !Buffer.isBuffer(body) && typeof body.data_base64 === "string" && body.data === undefined) {
      body.data = { protobuf: Buffer.from(body.data_base64, "base64") };
    }

    next();
  });

  await server.pubsub.subscribe(Pubsub, BotMessageCreatedTopic, async (data: unknown) => {
    const bytes = (data as { protobuf?: Buffer } | undefined)?.protobuf;
    if (!bytes) {
      log("bot-message-created without a protobuf payload; dropped");
      return DaprPubSubStatusEnum.DROP;
    }

    let created: MessageCreated__Output;
    try {
      created = decodeMessageCreated(bytes);
    } catch (error) {
      log(`unreadable bot-message-created: ${String(error)}; dropped`);
      return DaprPubSubStatusEnum.DROP;
    }

    try {
      await route(created);
      return DaprPubSubStatusEnum.SUCCESS;
    } catch (error) {
      // Directory unreachable: let the sidecar deliver it again.
      log(`routing ${created.message?.msgId} failed: ${String(error)}; retry`);
      return DaprPubSubStatusEnum.RETRY;
    }
  });
  // Before start(), which waits for the sidecar: liveness must answer meanwhile, readiness says not yet.
  const health = config.healthPort === undefined ? undefined : await startHealthListener(config.healthPort);
  await server.start();
  log(`listening on ${config.appPort}${health ? `, health on ${config.healthPort}` : ""}; webhooks only under ${config.webhookBaseUrl || "(none: BOTS_WEBHOOK_BASE_URL is unset)"}`);

  const stop = async () => {
    health?.close();
    await server.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
