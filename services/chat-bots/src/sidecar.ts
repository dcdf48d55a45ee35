// Calls to the other chat apps through this app's own Dapr sidecar: gRPC proxying, the target
// named by `dapr-app-id`, this app's DAPR_API_TOKEN as `dapr-api-token`.
import * as grpc from "@grpc/grpc-js";

/** host:port of the sidecar's gRPC API (DAPR_GRPC_ENDPOINT, else 127.0.0.1:DAPR_GRPC_PORT), as the Dapr SDKs find it. */
export function sidecarGrpcAddress(): string {
  const endpoint = process.env.DAPR_GRPC_ENDPOINT;
  if (endpoint) {
    const url = new URL(endpoint.includes("://") ? endpoint : `http://${endpoint}`);
    return `${url.hostname}:${url.port || "50001"}`;
  }

  return `127.0.0.1:${process.env.DAPR_GRPC_PORT ?? "50001"}`;
}

/** Metadata for a call proxied to `appId`, with an optional user (or bot) access token. */
export function proxyMetadata(appId: string, accessToken?: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("dapr-app-id", appId);
  const apiToken = process.env.DAPR_API_TOKEN;
  if (apiToken) {
    metadata.set("dapr-api-token", apiToken);
  }

  if (accessToken) {
    metadata.set("authorization", `Bearer ${accessToken}`);
  }

  return metadata;
}

/** Call options with a deadline `timeoutMs` from now. */
export function deadline(timeoutMs = 10_000): grpc.CallOptions {
  return { deadline: Date.now() + timeoutMs };
}

/**
 * A unary call of a generated client as a promise: `unary<Reply__Output>(cb => client.method(request, metadata, deadline(), cb))`.
 * The type argument is checked against the method's callback type.
 */
export function unary<TResponse>(start: (callback: grpc.requestCallback<TResponse>) => grpc.ClientUnaryCall): Promise<TResponse> {
  return new Promise((resolve, reject) => {
    start((error, response) => {
      if (error || response === undefined) {
        reject(error ?? new Error("empty response"));
      } else {
        resolve(response);
      }
    });
  });
}
