// The gateway's JSON auth API and the session kept in localStorage.

/** What /api/auth/* answer. */
export interface AuthResult {
  userId: string;
  userName: string | null;
  displayName: string | null;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

/** The signed-in user's tokens and names. */
export interface Session extends AuthResult {
  deviceId: string;
}

/** An error answer of the API: a stable code and a message for people. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

const sessionKey = "chat.session";
const deviceKey = "chat.deviceId";

async function post(path: string, body: unknown): Promise<AuthResult> {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(json?.code ?? `http_${res.status}`, json?.message ?? res.statusText, res.status);
  }
  return json as AuthResult;
}

/** This browser's device id (1 to 64 of [A-Za-z0-9_-]), made once. */
export function deviceId(): string {
  let id = localStorage.getItem(deviceKey);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(deviceKey, id);
  }
  return id;
}

export async function register(userName: string, password: string, displayName: string): Promise<Session> {
  const device = deviceId();
  return { ...(await post("/api/auth/register", { userName, password, displayName, deviceId: device })), deviceId: device };
}

export async function login(userName: string, password: string): Promise<Session> {
  const device = deviceId();
  return { ...(await post("/api/auth/login", { userName, password, deviceId: device })), deviceId: device };
}

/** New tokens for the session; the old refresh token stops working. Names are kept. */
export async function refresh(session: Session): Promise<Session> {
  const r = await post("/api/auth/refresh", { refreshToken: session.refreshToken });
  return { ...session, ...r, userName: session.userName, displayName: session.displayName };
}

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(sessionKey) ?? "null") as Session | null;
    return s && Date.parse(s.refreshTokenExpiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) {
    localStorage.setItem(sessionKey, JSON.stringify(session));
  } else {
    localStorage.removeItem(sessionKey);
  }
}

/** When to refresh: well before the access token expires (80% of its life, at least 30 s early). */
export function refreshDelayMs(session: Session, now = Date.now()): number {
  const left = Date.parse(session.accessTokenExpiresAt) - now;
  return Math.max(1000, Math.min(left * 0.8, left - 30_000));
}
