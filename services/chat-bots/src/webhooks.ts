// Per-bot queues: each bot's messages go to its webhook one at a time, under its own rate limit,
// timeout and bounded retries, so a slow or failing webhook holds up only its own bot.
import crypto from "node:crypto";
import type { BotsConfig } from "./config";
import { bindingPath } from "./config";

/** What a webhook is sent (JSON; see README "Writing a bot"). */
export interface WebhookEvent {
  type: "message";
  /** Unique per (message, bot): the same on every retry, so receivers can de-duplicate. */
  delivery_id: string;
  bot: { user_id: string; user_name: string };
  message: {
    conversation_id: string;
    kind: "direct" | "group";
    msg_id: string;
    seq: string;
    sender_id: string;
    text: string;
    sent_at: string;
  };
}

/** One bot's webhook settings (from directory's BotInternalService). */
export interface BotTarget {
  botUserId: string;
  userName: string;
  webhookUrl: string;
  signingSecret: string;
}

/** What the bindings API returns for one call (the gRPC InvokeBinding response). */
export interface BindingResult {
  data: Uint8Array;
  metadata: Record<string, string>;
}

export interface WebhookPorts {
  /** POSTs through the HTTP output binding (operation create, path and headers as metadata). */
  invokeBinding(body: Buffer, metadata: Record<string, string>): Promise<BindingResult>;
  /** Posts a webhook's reply as the bot's message. */
  reply(target: BotTarget, event: WebhookEvent, text: string): Promise<void>;
  log(line: string): void;
}

export const SignatureHeader = "X-Chat-Signature";
export const TimestampHeader = "X-Chat-Request-Timestamp";
export const DeliveryHeader = "X-Chat-Delivery-Id";

/**
 * `v1=` + hex HMAC-SHA256, keyed with the bot's signing secret (its UTF-8 bytes), of
 * `v1:{timestamp}:{body}`. Receivers recompute it over the raw body and compare in constant
 * time, and refuse timestamps more than 5 minutes off (replays).
 */
export function sign(secret: string, timestamp: number, body: Buffer): string {
  const mac = crypto.createHmac("sha256", Buffer.from(secret, "utf8"));
  mac.update(`v1:${timestamp}:`);
  mac.update(body);
  return `v1=${mac.digest("hex")}`;
}

class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Milliseconds until a token is there (0: take it now). */
  take(): number {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }

    return this.perSecond > 0 ? Math.ceil(((1 - this.tokens) / this.perSecond) * 1000) : 60_000;
  }

  /** True when it has refilled completely: forgetting it then changes nothing. */
  get idle(): boolean {
    return this.tokens + ((Date.now() - this.last) / 1000) * this.perSecond >= this.burst;
  }
}

class BotQueue {
  readonly items: { target: BotTarget; event: WebhookEvent }[] = [];
  running = false;

  constructor(readonly bucket: TokenBucket) {}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class WebhookDispatcher {
  private readonly queues = new Map<string, BotQueue>();
  // Outlive the queues: a bot whose queue keeps emptying must not get a fresh burst each time.
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly seen = new Map<string, true>();

  constructor(private readonly config: BotsConfig, private readonly ports: WebhookPorts) {}

  /** Queues a delivery and returns at once. False when it was a repeat or the bot's queue is full. */
  enqueue(target: BotTarget, event: WebhookEvent): boolean {
    // message-created is at-least-once: a redelivered message is not sent again.
    if (this.seen.has(event.delivery_id)) {
      return false;
    }

    this.seen.set(event.delivery_id, true);
    if (this.seen.size > 10_000) {
      this.seen.delete(this.seen.keys().next().value as string);
    }

    let queue = this.queues.get(target.botUserId);
    if (!queue) {
      queue = new BotQueue(this.bucketOf(target.botUserId));
      this.queues.set(target.botUserId, queue);
    }

    if (queue.items.length >= this.config.queueLimit) {
      this.ports.log(`bot ${target.botUserId}: queue full (${this.config.queueLimit}); dropped ${event.delivery_id}`);
      return false;
    }

    queue.items.push({ target, event });
    if (!queue.running) {
      queue.running = true;
      void this.drain(target.botUserId, queue);
    }

    return true;
  }

  private bucketOf(botUserId: string): TokenBucket {
    let bucket = this.buckets.get(botUserId);
    if (!bucket) {
      if (this.buckets.size >= 10_000) {
        for (const [id, b] of this.buckets) {
          if (b.idle && !this.queues.has(id)) {
            this.buckets.delete(id);
          }
        }
      }

      bucket = new TokenBucket(this.config.ratePerSecond, this.config.rateBurst);
      this.buckets.set(botUserId, bucket);
    }

    return bucket;
  }

  private async drain(botUserId: string, queue: BotQueue): Promise<void> {
    try {
      for (let next = queue.items.shift(); next; next = queue.items.shift()) {
        for (let wait = queue.bucket.take(); wait > 0; wait = queue.bucket.take()) {
          await sleep(wait);
        }

        await this.deliver(next.target, next.event);
      }
    } finally {
      queue.running = false;
      if (queue.items.length > 0) {
        queue.running = true;
        void this.drain(botUserId, queue);
      } else {
        this.queues.delete(botUserId);
      }
    }
  }

  /** Sends one event with bounded retries; posts the reply if the webhook gave one. */
  private async deliver(target: BotTarget, event: WebhookEvent): Promise<void> {
    const path = bindingPath(this.config.webhookBaseUrl, target.webhookUrl);
    if (path === undefined) {
      this.ports.log(`bot ${target.botUserId}: webhook ${target.webhookUrl} is outside ${this.config.webhookBaseUrl || "(no base URL)"}; not called`);
      return;
    }

    const body = Buffer.from(JSON.stringify(event), "utf8");
    for (let attempt = 1; attempt <= this.config.maxAttempts; attempt++) {
      const timestamp = Math.floor(Date.now() / 1000);
      const outcome = await this.attempt(target, path, body, timestamp, event.delivery_id);
      if (outcome.kind === "ok") {
        const text = replyText(outcome.body);
        if (text) {
          try {
            await this.ports.reply(target, event, text);
          } catch (error) {
            this.ports.log(`bot ${target.botUserId}: reply to ${event.delivery_id} failed: ${String(error)}`);
          }
        }

        return;
      }

      if (outcome.kind === "final" || attempt === this.config.maxAttempts) {
        this.ports.log(`bot ${target.botUserId}: ${event.delivery_id} given up after ${attempt} attempt(s): ${outcome.reason}`);
        return;
      }

      await sleep(this.config.retryBaseMs * 2 ** (attempt - 1));
    }
  }

  private async attempt(
    target: BotTarget, path: string, body: Buffer, timestamp: number, deliveryId: string,
  ): Promise<{ kind: "ok"; body: Uint8Array } | { kind: "retry" | "final"; reason: string }> {
    const metadata: Record<string, string> = {
      path,
      // Statuses are judged here (retry 429 and 5xx, not other 4xx), not turned into errors.
      errorIfNot2XX: "false",
      "Content-Type": "application/json; charset=utf-8",
      [SignatureHeader]: sign(target.signingSecret, timestamp, body),
      [TimestampHeader]: String(timestamp),
      [DeliveryHeader]: deliveryId,
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
      });
      const result = await Promise.race([this.ports.invokeBinding(body, metadata), timeout]);
      const status = Number(result.metadata.statusCode ?? "200");
      if (status >= 200 && status < 300) {
        return { kind: "ok", body: result.data };
      }

      return { kind: status === 429 || status >= 500 ? "retry" : "final", reason: `status ${status}` };
    } catch (error) {
      return { kind: "retry", reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The `text` of a webhook's JSON reply, if it has one (anything else means no reply). */
export function replyText(body: Uint8Array): string | undefined {
  if (body.length === 0) {
    return undefined;
  }

  try {
    const parsed: unknown = JSON.parse(Buffer.from(body).toString("utf8"));
    if (parsed && typeof parsed === "object" && typeof (parsed as { text?: unknown }).text === "string") {
      const text = (parsed as { text: string }).text;
      return text.trim() === "" ? undefined : text;
    }
  } catch {
    // Not JSON: no reply.
  }

  return undefined;
}
