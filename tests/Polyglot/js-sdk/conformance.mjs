// The official Dapr JS SDK (@dapr/dapr) against a Dapr sidecar, written as the SDK's docs show
// it: a DaprServer for the subscription and an invoked method, DaprClients over HTTP and gRPC
// for state, publishing and invocation. Dapr.DevSidecar.Tests runs it against the dev sidecar
// (Area Polyglot) with DAPR_HTTP_PORT, DAPR_GRPC_PORT, APP_PORT and APP_ID set, as `dapr run`
// sets them. Prints PASS/FAIL per check and exits non-zero when any fails.
// Actors are not covered here: the JS SDK's actor runtime is optional and the dev sidecar's
// actor conformance is shown with the .NET actor SDK.
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod } from "@dapr/dapr";

const daprHost = "127.0.0.1";
const httpPort = process.env.DAPR_HTTP_PORT;
const grpcPort = process.env.DAPR_GRPC_PORT;
const appPort = process.env.APP_PORT;
const appId = process.env.APP_ID;
const store = "statestore";
const pubsub = "pubsub";
const topic = "orders";

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}

function expect(condition, what) {
  if (!condition) {
    throw new Error(what);
  }
}

async function eventually(condition, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The app side: a subscription and an invoked method.
const received = [];
const server = new DaprServer({
  serverHost: "127.0.0.1",
  serverPort: appPort,
  communicationProtocol: CommunicationProtocolEnum.HTTP,
  clientOptions: { daprHost, daprPort: httpPort },
});
await server.pubsub.subscribe(pubsub, topic, async (data) => {
  received.push(data);
});
await server.invoker.listen("hello", async (request) => {
  const body = typeof request.body === "string" ? JSON.parse(request.body) : request.body;
  return { greeting: `hello ${body.name}` };
}, {
  method: HttpMethod.POST,
});
await server.start();

const admin = new DaprClient({ daprHost, daprPort: httpPort, communicationProtocol: CommunicationProtocolEnum.HTTP });
await check("subscription receives", async () => {
  // The sidecar subscribes once it has read the app's /dapr/subscribe: publish until a probe arrives.
  let probe = 0;
  await eventually(async () => {
    await admin.pubsub.publish(pubsub, topic, { id: `probe-${probe++}` });
    await new Promise((r) => setTimeout(r, 200));
    return received.some((m) => String(m?.id).startsWith("probe-"));
  }, "a probe message reaches the subscription");
});

for (const [protocol, port] of [
  ["http", httpPort],
  ["grpc", grpcPort],
]) {
  const client = new DaprClient({
    daprHost,
    daprPort: port,
    communicationProtocol: protocol === "http" ? CommunicationProtocolEnum.HTTP : CommunicationProtocolEnum.GRPC,
  });
  const key = (k) => `${protocol}-${k}`;

  await check(`${protocol}: state save, get and bulk get`, async () => {
    await client.state.save(store, [
      { key: key("a"), value: { n: 1 } },
      { key: key("b"), value: { n: 2 } },
    ]);
    const a = await client.state.get(store, key("a"));
    expect(a?.n === 1, `get returned ${JSON.stringify(a)}`);
    const bulk = await client.state.getBulk(store, [key("a"), key("b"), key("missing")]);
    expect(bulk.length === 3, `getBulk returned ${JSON.stringify(bulk)}`);
    const b = bulk.find((i) => i.key === key("b"));
    expect(b?.data?.n === 2 && b.etag, `getBulk item ${JSON.stringify(b)}`);
  });

  await check(`${protocol}: state ETags`, async () => {
    const [item] = await client.state.getBulk(store, [key("a")]);
    const etag = item.etag;
    const saved = await client.state.save(store, [{ key: key("a"), value: { n: 10 }, etag }]);
    expect(!saved?.error, `save with the current ETag failed: ${saved?.error}`);
    let stale;
    try {
      stale = await client.state.save(store, [{ key: key("a"), value: { n: 11 }, etag }]);
    } catch (err) {
      stale = { error: err };
    }
    expect(stale?.error, "save with a stale ETag was accepted");
    expect((await client.state.get(store, key("a")))?.n === 10, "the stale save changed the value");
    const [fresh] = await client.state.getBulk(store, [key("a")]);
    const deleted = await client.state.delete(store, key("a"), { etag: fresh.etag });
    expect(!deleted?.error, `delete with the current ETag failed: ${deleted?.error}`);
    const gone = await client.state.get(store, key("a"));
    expect(gone === "" || gone === undefined || gone === null, `deleted key still reads ${JSON.stringify(gone)}`);
  });

  await check(`${protocol}: state transaction`, async () => {
    // String values, as the SDK's docs write transactions (its gRPC client sends them as raw bytes).
    await client.state.transaction(store, [
      { operation: "upsert", request: { key: key("t"), value: "three" } },
      { operation: "delete", request: { key: key("b") } },
    ]);
    const t = await client.state.get(store, key("t"));
    expect(t === "three", `the transaction's upsert reads ${JSON.stringify(t)}`);
    const b = await client.state.get(store, key("b"));
    expect(b === "" || b === undefined || b === null, `the transaction's delete left ${JSON.stringify(b)}`);
  });

  await check(`${protocol}: publish and bulk publish`, async () => {
    const published = await client.pubsub.publish(pubsub, topic, { id: key("single") });
    expect(!published?.error, `publish failed: ${published?.error}`);
    const bulk = await client.pubsub.publishBulk(pubsub, topic, [{ id: key("bulk-1") }, { id: key("bulk-2") }]);
    expect(bulk.failedMessages.length === 0, `bulk publish failed: ${bulk.failedMessages.map((f) => f.error).join("; ")}`);
    await eventually(
      () => [key("single"), key("bulk-1"), key("bulk-2")].every((id) => received.some((m) => m?.id === id)),
      `the subscription receives the three ${protocol} messages (got ${JSON.stringify(received)})`,
    );
  });

  await check(`${protocol}: service invocation`, async () => {
    const answer = await client.invoker.invoke(appId, "hello", HttpMethod.POST, { name: protocol });
    expect(answer?.greeting === `hello ${protocol}`, `invoke answered ${JSON.stringify(answer)}`);
  });

  await client.stop();
}

await server.stop();
console.log(failures === 0 ? "ALL PASSED" : `${failures} FAILED`);
process.exit(failures === 0 ? 0 : 1);
