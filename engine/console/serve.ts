/**
 * Serving the console: alone on a port (`rsync console`), or as the request listener the worker's server hands
 * every path it does not own (`rsync worker --console`).
 */
import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { consoleApp, type ConsoleOptions } from './app.js';

export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The console as a Node request listener. */
export function consoleListener(o: ConsoleOptions): RequestListener {
  const listener = getRequestListener(consoleApp(o).fetch);
  return (req, res) => void listener(req, res);
}

/** Listen on `port` (0: a free one) on `host`; resolves once listening. */
export async function serveConsole(
  o: ConsoleOptions,
  port: number,
  host: string,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, consoleListener(o));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : port };
}
