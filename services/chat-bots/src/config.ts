// Settings of the bots app, from its environment (dapr.yaml / tye.yaml set them).

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") {
    return fallback;
  }

  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number; got '${raw}'`);
  }

  return value;
}

export interface BotsConfig {
  /** Port the sidecar delivers pub/sub to (APP_PORT). */
  appPort: number;
  /** Port of the kubelet health endpoints (HEALTH_PORT); unset: none (a local run needs none). */
  healthPort: number | undefined;
  /** The token the sidecar sends on every callback (APP_API_TOKEN); unset turns the check off. */
  appApiToken: string | undefined;
  /** The HTTP output binding every webhook call goes through. */
  webhookBinding: string;
  /**
   * The binding's `url`: the only place webhooks may be. A webhook outside it is never called
   * (the URL's path below this base is passed to the binding as its `path`).
   */
  webhookBaseUrl: string;
  /** One webhook call's limit, on top of the binding's own responseTimeout. */
  timeoutMs: number;
  /** Attempts per message (first try included) for timeouts, network errors, 429 and 5xx. */
  maxAttempts: number;
  /** Back-off before the second attempt; doubles each time. */
  retryBaseMs: number;
  /** Per-bot rate: webhook calls per second, and the burst allowed. */
  ratePerSecond: number;
  rateBurst: number;
  /** Messages waiting per bot; more are dropped (and logged) so one bot cannot hold memory. */
  queueLimit: number;
}

export function loadConfig(): BotsConfig {
  const base = process.env.BOTS_WEBHOOK_BASE_URL ?? "";
  if (base !== "") {
    // Fails at start-up on a malformed URL rather than on the first message.
    new URL(base);
  }

  return {
    appPort: number("APP_PORT", 5106),
    healthPort: process.env.HEALTH_PORT ? number("HEALTH_PORT", 0) : undefined,
    appApiToken: process.env.APP_API_TOKEN || undefined,
    webhookBinding: process.env.BOTS_WEBHOOK_BINDING ?? "bot-webhooks",
    webhookBaseUrl: base,
    timeoutMs: number("BOTS_WEBHOOK_TIMEOUT_MS", 5000),
    maxAttempts: Math.max(1, number("BOTS_WEBHOOK_MAX_ATTEMPTS", 3)),
    retryBaseMs: number("BOTS_WEBHOOK_RETRY_BASE_MS", 500),
    ratePerSecond: number("BOTS_RATE_PER_SECOND", 1),
    rateBurst: Math.max(1, number("BOTS_RATE_BURST", 10)),
    queueLimit: Math.max(1, number("BOTS_QUEUE_LIMIT", 100)),
  };
}

/**
 * The binding `path` that reaches `webhookUrl` from `baseUrl`, or undefined when the webhook is
 * not under the base (other scheme, host or port, or a path outside the base's): such a webhook
 * is refused, so the platform reaches no host it was not configured for (SSRF).
 */
export function bindingPath(baseUrl: string, webhookUrl: string): string | undefined {
  let base: URL;
  let hook: URL;
  try {
    base = new URL(baseUrl);
    hook = new URL(webhookUrl);
  } catch {
    return undefined;
  }

  const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  if (hook.protocol !== base.protocol || hook.host !== base.host || hook.username || hook.password || !hook.pathname.startsWith(basePath)) {
    return undefined;
  }

  return hook.pathname.slice(basePath.length) + hook.search;
}
