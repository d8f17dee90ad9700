/**
 * The admin listener: liveness, readiness and Prometheus metrics. It is a
 * separate port so none of this is reachable through the ingress.
 * Readiness does not depend on the IdPs: an IdP outage must not take every
 * pod out of the Service (existing sessions keep working without the IdP).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import { ADMIN_PATHS } from '../paths.ts';

export async function handleAdminRequest(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  isReady: () => boolean,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return reply(res, 405, 'text/plain', 'method not allowed\n');
  switch (path) {
    case ADMIN_PATHS.health:
      return reply(res, 200, 'application/json', '{"status":"ok"}\n');
    case ADMIN_PATHS.ready:
      return isReady()
        ? reply(res, 200, 'application/json', '{"status":"ready"}\n')
        : reply(res, 503, 'application/json', '{"status":"not ready"}\n');
    case ADMIN_PATHS.metrics: {
      const { registry } = components.metrics;
      return reply(res, 200, registry.contentType, await registry.metrics());
    }
    default:
      return reply(res, 404, 'text/plain', 'not found\n');
  }
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
