// Health endpoints for kubelet, as the .NET apps serve them (Chat.ServiceDefaults): liveness
// /healthz (the process only: a sidecar restart must not restart the app) and readiness
// /health/ready (the process and its sidecar). They get their own port, HEALTH_PORT, because the
// app port binds loopback and answers only requests carrying APP_API_TOKEN (its sidecar's).
// Who may call it: anyone who reaches the pod; it answers these two paths only and tells nothing
// but up or down.
import http from "node:http";

export const LivenessPath = "/healthz";
export const ReadinessPath = "/health/ready";

/** Whether the sidecar answers its own health endpoint (daprd: 204 once it is up). */
async function sidecarHealthy(): Promise<boolean> {
  const port = process.env.DAPR_HTTP_PORT ?? "3500";
  const headers: Record<string, string> = {};
  if (process.env.DAPR_API_TOKEN) {
    headers["dapr-api-token"] = process.env.DAPR_API_TOKEN;
  }

  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`, { headers, signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts the health listener on `port` (all interfaces, so kubelet reaches it); resolves once it listens. */
export function startHealthListener(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const answer = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      answer(405, "only GET");
    } else if (path === LivenessPath) {
      answer(200, "Healthy");
    } else if (path === ReadinessPath) {
      void sidecarHealthy().then((up) => answer(up ? 200 : 503, up ? "Healthy" : "Unhealthy: the Dapr sidecar does not answer"));
    } else {
      answer(404, "only /healthz and /health/ready answer on the health port");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve(server));
  });
}
