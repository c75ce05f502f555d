// The HTTP admin listener (`eddy start --http-port N`, createBroker({ httpPort })): off by default, bound to the
// broker's host, node:http only. One entry point, startAdminHttp(); each feature adds its routes to routes()' list.
// A GET (or HEAD) that matches no route and is not under /v1/ is a web console file (console-assets.ts).
//
//   method  path               answer
//   GET     /metrics           200 Prometheus text format 0.0.4 (metrics.ts has the list), when the broker gives
//                              `metrics`
//   GET     /healthz           200 {"status":"ok"} while the listener runs
//   GET     /readyz            200 {"status":"ready"} once logs and coordinators are loaded and the Kafka listener
//                              is up, else 503 {"status":"starting"} (or "stopping")
//   GET     /v1/faults         200 {"rules":[…]}                       (faults-api.ts)
//   POST    /v1/faults         201 the rule, body: a fault rule (JSON)
//   DELETE  /v1/faults         200 {"removed":n}
//   GET     /v1/faults/{id}    200 the rule, 404 when unknown
//   DELETE  /v1/faults/{id}    200 {"removed":1}, 404 when unknown
//   GET     /v1/cluster, /v1/topics, /v1/topics/{name}, /v1/topics/{name}/partitions/{p}/records,
//           /v1/groups, /v1/groups/{id}, /v1/broker/configs, /v1/stats
//                              the web console's data (console-api.ts has the fields); 503 until the broker is open
//   GET     /, /assets/…       the web console (console-assets.ts): index.html and its hashed bundle
//
// Access (access.ts), before any route: a Host header that is not an IP literal, localhost or a configured host
// name answers 403 HOST_NOT_ALLOWED (DNS rebinding); with security on (a listener that is not PLAINTEXT, or
// --authorizer acl) every /v1/ route answers 403 CONSOLE_REFUSED_BY_SECURITY unless this listener is bound to a
// loopback address.
//
// Errors are JSON too: {"error":{"code":"INVALID_FAULT_RULE","message":"…"}} with 400 (bad body or parameter),
// 403 (access, above), 404 (no such route, rule, topic, group or file), 405 (method not allowed, with Allow), 413
// (body over MAX_BODY_BYTES). JSON answers carry `Cache-Control: no-store`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import type { FaultRules } from '../faults/index.js';
import { faultRoutes } from './faults-api.js';
import type { BrokerMetrics } from './metrics.js';
import { consoleRoutes, type ConsoleSource } from './console-api.js';
import { ConsoleAssets } from './console-assets.js';
import { configuredHostNames, hostAllowed, isLoopbackHost, securityReason, type AccessConfig } from './access.js';

export interface AdminHttpOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  logger: Logger;
  faults: FaultRules;
  /** The broker's metrics, served at /metrics. */
  metrics?: BrokerMetrics;
  /** 'ready' once the broker serves; what /readyz reports. */
  readiness(): 'starting' | 'ready' | 'stopping';
  /** The broker's state the console's /v1 API reads, once open (undefined before: those routes answer 503). */
  consoleSource?: () => ConsoleSource | undefined;
  /** The built console (index.html, assets/); default: dist/web of this package (ConsoleAssets.defaultDir()). */
  consoleAssetsDir?: string;
  /**
   * The broker's config, for the access checks (access.ts): the host names the listener answers to and whether the
   * broker runs with security. Default: consoleSource's config once the broker is open.
   */
  config?: AccessConfig;
}

/** One route: `path` segments are literal, or `:name` for any one non-empty segment (`/v1/faults/:id`). */
export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  handle(request: AdminRequest): Promise<AdminResponse> | AdminResponse;
}

export interface AdminRequest {
  /** The route's last `:name` segment (a fault rule's id), when it has one. */
  param: string | undefined;
  /** Every `:name` segment of the route, percent-decoded. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The parsed JSON body (POST), undefined when empty. */
  body: unknown;
}

export interface AdminResponse {
  status: number;
  /** Sent as JSON, or as is when `contentType` is given (then a string or a Buffer). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Largest request body read (a fault rule is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function routes(options: AdminHttpOptions): Route[] {
  const metrics = options.metrics;
  return [
    ...(metrics === undefined
      ? []
      : [{ method: 'GET', path: '/metrics', handle: async () => ({ status: 200, body: await metrics.scrape(), contentType: metrics.contentType }) } satisfies Route]),
    { method: 'GET', path: '/healthz', handle: () => ({ status: 200, body: { status: 'ok' } }) },
    {
      method: 'GET',
      path: '/readyz',
      handle: () => {
        const state = options.readiness();
        return { status: state === 'ready' ? 200 : 503, body: { status: state } };
      },
    },
    ...faultRoutes(options.faults),
    ...consoleRoutes(options.consoleSource ?? (() => undefined), metrics),
  ];
}

/** The route's `:name` segments when `pathname` matches it, else null (HttpError 400 for bad percent-encoding). */
function match(route: Route, pathname: string): { param: string | undefined; params: Record<string, string> } | null {
  const want = route.path.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  let param: string | undefined;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      if (g.length === 0) return null;
      try {
        param = decodeURIComponent(g);
      } catch {
        throw new HttpError(400, 'INVALID_PATH', `bad percent-encoding in ${JSON.stringify(g)}`);
      }
      params[w.slice(1)] = param;
    } else if (w !== g) {
      return null;
    }
  }
  return { param, params };
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'INVALID_JSON', `request body is not JSON: ${(err as Error).message}`);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, contentType?: string): void {
  const data = contentType === undefined ? `${JSON.stringify(body)}\n` : Buffer.isBuffer(body) ? body : String(body);
  const json = contentType === undefined ? { 'cache-control': 'no-store' } : {};
  res.writeHead(status, { 'content-type': contentType ?? 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...json, ...headers });
  res.end(data);
}

export interface AdminHttpServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the admin listener; rejects with BrokerError LISTEN when the port cannot be bound. */
export async function startAdminHttp(options: AdminHttpOptions): Promise<AdminHttpServer> {
  const table = routes(options);
  const assets = new ConsoleAssets(options.consoleAssetsDir ?? ConsoleAssets.defaultDir());
  const log = options.logger.child({ component: 'http' });
  const loopback = isLoopbackHost(options.host);
  let access: { config: AccessConfig | undefined; names: Set<string>; securedBy: string | undefined } | undefined;
  const accessFor = (config: AccessConfig | undefined) => {
    if (access === undefined || access.config !== config) {
      access = { config, names: configuredHostNames(options.host, config), securedBy: config === undefined ? undefined : securityReason(config) };
    }
    return access;
  };
  const server = http.createServer((req, res) => {
    const current = accessFor(options.config ?? options.consoleSource?.()?.config);
    if (!hostAllowed(req.headers.host, current.names)) {
      const message = `Host ${JSON.stringify(req.headers.host)} is not an IP address, localhost or a host name this broker is configured with (--host, --advertised-host, listeners, advertised listeners); refused against DNS rebinding`;
      send(res, 403, { error: { code: 'HOST_NOT_ALLOWED', message } });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      // An unparsable request target (`http://a:b`): answered, never thrown out of the listener.
      send(res, 400, { error: { code: 'INVALID_PATH', message: `cannot parse ${JSON.stringify(req.url)}` } });
      return;
    }
    if (!loopback && url.pathname.startsWith('/v1/')) {
      if (current.config === undefined) {
        send(res, 503, { error: { code: 'CONSOLE_UNAVAILABLE', message: 'the broker is not open (starting or stopping)' } });
        return;
      }
      if (current.securedBy !== undefined) {
        const message =
          `the broker runs with security on (${current.securedBy}) and this HTTP listener is bound to ${options.host}, not a loopback address: ` +
          'the HTTP API has no authentication and would bypass SASL, TLS and ACLs, so /v1/ is refused; bind the HTTP listener to a loopback address (--host 127.0.0.1) to use the console';
        send(res, 403, { error: { code: 'CONSOLE_REFUSED_BY_SECURITY', message } });
        return;
      }
    }
    let candidates: Array<{ route: Route; param: string | undefined; params: Record<string, string> }>;
    try {
      candidates = table.flatMap((route) => {
        const m = match(route, url.pathname);
        return m === null ? [] : [{ route, ...m }];
      });
    } catch (err) {
      const e = err as HttpError;
      send(res, e.status, { error: { code: e.code, message: e.message } });
      return;
    }
    if (candidates.length === 0 && (req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith('/v1/')) {
      assets.serve(url.pathname).then(
        (out) => send(res, out.status, out.body, out.headers, out.contentType),
        (err: unknown) => {
          log.error({ err, path: url.pathname }, 'console asset failed');
          send(res, 500, { error: { code: 'INTERNAL', message: (err as Error).message } });
        },
      );
      return;
    }
    if (candidates.length === 0) {
      send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } });
      return;
    }
    const hit = candidates.find((c) => c.route.method === req.method);
    if (hit === undefined) {
      const allow = [...new Set(candidates.map((c) => c.route.method))].join(', ');
      send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} ${url.pathname}: allowed ${allow}` } }, { allow });
      return;
    }
    void (async () => {
      try {
        const body = req.method === 'POST' ? await readBody(req) : undefined;
        const out = await hit.route.handle({ param: hit.param, params: hit.params, query: url.searchParams, body });
        send(res, out.status, out.body, out.headers, out.contentType);
      } catch (err) {
        if (err instanceof HttpError) send(res, err.status, { error: { code: err.code, message: err.message } });
        else if (err instanceof BrokerError) send(res, err.code.startsWith('UNKNOWN_') ? 404 : 400, { error: { code: err.code, message: err.message } });
        else {
          log.error({ err, method: req.method, path: url.pathname }, 'admin request failed');
          send(res, 500, { error: { code: 'INTERNAL', message: (err as Error).message } });
        }
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new BrokerError('LISTEN', `Cannot listen for HTTP on ${options.host}:${options.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port }, 'http admin listening');
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
