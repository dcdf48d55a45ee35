// A client of the chat.v1 gRPC contracts written in TypeScript with the generated types, calling
// DirectoryService, MessagingService and BotInternalService through a Dapr sidecar (gRPC
// proxying, `dapr-app-id`). Chat.Integration.Tests runs it (Area Polyglot) with DAPR_GRPC_PORT
// and DAPR_API_TOKEN of a sidecar; prints PASS/FAIL per check and exits non-zero on a failure.
import crypto from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { loadChatProto } from "../contracts";
import { deadline, proxyMetadata, sidecarGrpcAddress, unary } from "../sidecar";
import type { RegisterResponse__Output } from "../gen/chat/v1/RegisterResponse";
import type { SendMessageResponse__Output } from "../gen/chat/v1/SendMessageResponse";
import type { GetHistoryResponse__Output } from "../gen/chat/v1/GetHistoryResponse";
import type { GetBotWebhooksResponse__Output } from "../gen/chat/v1/GetBotWebhooksResponse";

const proto = loadChatProto();
const address = sidecarGrpcAddress();
const directory = new proto.chat.v1.DirectoryService(address, grpc.credentials.createInsecure());
const messaging = new proto.chat.v1.MessagingService(address, grpc.credentials.createInsecure());
const botsInternal = new proto.chat.v1.BotInternalService(address, grpc.credentials.createInsecure());

let failures = 0;
async function check(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${name}: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

function expect(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(what);
  }
}

async function refused(call: Promise<unknown>, code: grpc.status): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    const e = error as grpc.ServiceError;
    expect(e.code === code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    return e;
  }

  throw new Error(`expected ${grpc.status[code]}, but the call succeeded`);
}

async function register(name: string): Promise<RegisterResponse__Output> {
  return unary<RegisterResponse__Output>((cb) => directory.register({
    userName: `${name}${crypto.randomBytes(4).toString("hex")}`,
    password: "correct horse battery",
    deviceId: "node-client",
  }, proxyMetadata("directory"), deadline(), cb));
}

async function main(): Promise<void> {
  let alice: RegisterResponse__Output | undefined;
  let bob: RegisterResponse__Output | undefined;
  await check("allowed: DirectoryService.Register and MessagingService.SendMessage with the user's token", async () => {
    alice = await register("alice");
    bob = await register("bob");
    expect(alice.profile?.kind === "USER_KIND_PERSON", `a registered user is a person: ${alice.profile?.kind}`);
    const sent = await unary<SendMessageResponse__Output>((cb) => messaging.sendMessage({
      peerUserId: bob!.profile!.userId,
      clientMsgId: crypto.randomUUID(),
      content: { text: "hello from TypeScript" },
    }, proxyMetadata("messaging", alice!.tokens!.accessToken), deadline(), cb));
    expect(sent.message?.senderId === alice.profile!.userId, "the stored message is alice's");
    expect(sent.message?.seq === "1", `first message of the conversation: seq ${sent.message?.seq}`);
    const history = await unary<GetHistoryResponse__Output>((cb) => messaging.getHistory({ conversationId: sent.message!.conversationId },
      proxyMetadata("messaging", bob!.tokens!.accessToken), deadline(), cb));
    expect(history.messages.some((m) => m.content?.text === "hello from TypeScript"), "bob reads it in the history");
  });

  await check("refused: MessagingService.SendMessage without a token is UNAUTHENTICATED", async () => {
    await refused(unary<SendMessageResponse__Output>((cb) => messaging.sendMessage({
      peerUserId: bob?.profile?.userId ?? "unobody000000001",
      clientMsgId: crypto.randomUUID(),
      content: { text: "anonymous" },
    }, proxyMetadata("messaging"), deadline(), cb)), grpc.status.UNAUTHENTICATED);
  });

  await check("refused: BotInternalService.GetBotWebhooks from an app other than bots is PERMISSION_DENIED", async () => {
    const error = await refused(unary<GetBotWebhooksResponse__Output>((cb) => botsInternal.getBotWebhooks({ userIds: [alice?.profile?.userId ?? "unobody000000001"] },
      proxyMetadata("directory", alice?.tokens?.accessToken), deadline(), cb)), grpc.status.PERMISSION_DENIED);
    expect(error.details.includes("bots"), `the error names who may call it: ${error.details}`);
  });

  process.exit(failures === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
