// The chat.v1 contracts, loaded at run time from protos/ with @grpc/proto-loader and typed by
// the code `npm run gen` generates from the same files (src/gen, proto-loader-gen-types). The
// loader options here must match the generator's flags in package.json.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as protobuf from "protobufjs";
import type { ProtoGrpcType as MessagingProto } from "./gen/messaging";
import type { ProtoGrpcType as DirectoryProto } from "./gen/directory";
import type { ProtoGrpcType as BotsProto } from "./gen/bots";
import type { MessageCreated__Output } from "./gen/chat/v1/MessageCreated";

/** protos/ of the repository (services/chat-bots/dist -> ../../../protos), or CHAT_PROTOS_DIR. */
export const protosDir = process.env.CHAT_PROTOS_DIR ?? path.resolve(__dirname, "..", "..", "..", "protos");

const files = ["chat/v1/messaging.proto", "chat/v1/directory.proto", "chat/v1/bots.proto", "chat/v1/events.proto"];
const options: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protosDir] };

/** The gRPC service constructors of chat.v1, typed by the generated code. */
export type ChatProto = MessagingProto & DirectoryProto & BotsProto;

export function loadChatProto(): ChatProto {
  return grpc.loadPackageDefinition(protoLoader.loadSync(files, options)) as unknown as ChatProto;
}

let messageCreated: protobuf.Type | undefined;

/** Decodes a binary `chat.v1.MessageCreated` (what messaging publishes as the CloudEvent's data_base64). */
export function decodeMessageCreated(bytes: Uint8Array): MessageCreated__Output {
  if (!messageCreated) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(protosDir, target);
    // google/protobuf/*.proto come from protobufjs's bundled well-known types.
    root.loadSync("chat/v1/events.proto", { keepCase: false });
    messageCreated = root.lookupType("chat.v1.MessageCreated");
  }

  const decoded = messageCreated.decode(bytes);
  return messageCreated.toObject(decoded, { longs: String, enums: String, defaults: true, oneofs: true }) as MessageCreated__Output;
}
