/**
 * A raw HTTP client for hostile requests: the path, headers and body go on the wire byte for byte.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

export interface RawRequest {
  method: string;
  /** sent as is: already percent-encoded where needed */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * node:http rather than fetch: fetch normalises paths (`..`) and refuses non-ASCII header bytes,
 * and a hostile client does neither.
 */
export function sendRaw(base: string, req: RawRequest, timeoutMs = 60_000): Promise<RawResponse> {
  const url = new URL(base);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...req.headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    r.on('error', reject);
    // The server may answer (413) and close before reading the whole body: that is fine.
    r.end(body);
  });
}

export function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Letters only, so the keys we add never look like a card number to the leak scan. */
export function letters(n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(n), (b) => alphabet[b % 26]).join('');
}
