import { execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { spawnCli } from './cli.js';
import type { World } from './worlds.js';

// `shopctl serve` as a user runs it (the built binary, a real socket) and the clients the
// serve tests talk to it with: fetch, curl, a raw http request, and a Server-Sent Events reader.

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Served {
  /** `http://127.0.0.1:PORT`, from the first line it prints. */
  url: string;
  /** The first line of stdout, as printed. */
  banner: string;
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<Exit>;
  /** Sends the signal and waits (at most `timeoutMs`) for the exit. */
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<Exit>;
  /** Waits (at most `timeoutMs`) for the exit, sending nothing. */
  exited: (timeoutMs?: number) => Promise<Exit>;
}

/**
 * Servers for one test file: `serve(world, args, env)` starts `shopctl --config FILE serve
 * --port 0 ARGS` and resolves once it printed where it listens; `stopAll()` (for afterAll) kills
 * whatever is still running, by its own pid, and waits for it.
 */
export function servers(): { serve: (world: World, args?: string[], env?: Record<string, string | undefined>) => Promise<Served>; stopAll: () => Promise<void> } {
  const started: Served[] = [];
  return {
    serve: async (world, args = [], env = {}) => {
      const child = spawnCli(['--config', world.file, 'serve', '--port', '0', ...args], env);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exit = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
      const exited = async (timeoutMs = 20_000): Promise<Exit> => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`serve did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs);
        });
        try {
          return await Promise.race([exit, late]);
        } finally {
          clearTimeout(timer);
        }
      };
      const stop = (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<Exit> => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited(timeoutMs);
      };
      const served = { child, stdout: () => stdout, stderr: () => stderr, exit, stop, exited } as Omit<Served, 'url' | 'banner'>;
      started.push(served as Served);
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve printed no address within 30 s:\n${stdout}\n${stderr}`)), 30_000);
        const look = () => {
          const newline = stdout.indexOf('\n');
          if (newline < 0) return;
          clearTimeout(timer);
          child.stdout.off('data', look);
          resolve(stdout.slice(0, newline));
        };
        child.stdout.on('data', look);
        void exit.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`serve exited ${code} before it listened:\n${stdout}\n${stderr}`));
        });
      });
      const url = /^serving (http:\/\/127\.0\.0\.1:\d+) /.exec(banner)?.[1];
      if (!url) throw new Error(`not the line serve starts with: ${banner}`);
      return Object.assign(served as Served, { url, banner });
    },
    stopAll: async () => {
      for (const served of started) {
        if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill('SIGKILL');
        await served.exit;
      }
    },
  };
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details: Array<{ field?: string; message: string }> };
}

export interface CallOptions {
  json?: unknown;
  /** application/x-www-form-urlencoded. */
  urlencoded?: Record<string, string>;
  /** A raw body with its own content-type header. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  token?: string;
}

/** One request with fetch; the body parsed as JSON when it is JSON. */
export async function call<T = unknown>(url: string, method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.urlencoded !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.urlencoded).toString();
  }
  const response = await fetch(`${url}${path}`, { method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body), signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, headers: response.headers, body: (json ? JSON.parse(text) : text) as T, text };
}

export const get = <T = unknown>(url: string, path: string, options: CallOptions = {}) => call<T>(url, 'GET', path, options);
export const post = <T = unknown>(url: string, path: string, json: unknown, options: CallOptions = {}) => call<T>(url, 'POST', path, { ...options, json });

/** `curl ARGS`: stdout, and the status from `-w` (the last line). */
export function curl(args: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl ${args.join(' ')}: ${error.message}\n${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

export interface EventStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: SseMessage[];
  /** Resolves with the first message (already received or still to come) that matches, or fails after timeoutMs. */
  next: (match: (message: SseMessage) => boolean, timeoutMs?: number) => Promise<SseMessage>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close: () => void;
}

/** GET /events, read as Server-Sent Events (one message per blank-line-separated block). */
export function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}/events`, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      const messages: SseMessage[] = [];
      const waiting = new Set<() => void>();
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const message: SseMessage = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            const [, field, value = ''] = /^([^:]*):? ?(.*)$/.exec(line) ?? [];
            if (field === 'event') message.event = value;
            else if (field === 'id') message.id = value;
            else if (field === 'data') data.push(value);
          }
          if (block.split('\n').every((line) => line.startsWith(':'))) continue; // a comment (ping)
          message.data = data.join('\n');
          messages.push(message);
        }
        for (const wake of waiting) wake();
      });
      const ended = new Promise<void>((done) => response.once('close', () => done()));
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        messages,
        ended,
        close: () => request.destroy(),
        next: (match, timeoutMs = 10_000) =>
          new Promise<SseMessage>((found, fail) => {
            const look = (): boolean => {
              const hit = messages.find(match);
              if (!hit) return false;
              waiting.delete(wake);
              clearTimeout(timer);
              found(hit);
              return true;
            };
            const wake = () => void look();
            const timer = setTimeout(() => {
              waiting.delete(wake);
              fail(new Error(`no matching message within ${timeoutMs} ms; got: ${JSON.stringify(messages)}`));
            }, timeoutMs);
            if (!look()) waiting.add(wake);
          }),
      });
    });
    request.on('error', reject);
  });
}
