// Loading datasets from URLs (browsers, or Node >= 18 with global fetch): the same parsers as the
// file loaders, fed with fetched bytes. Every error names the URL: HTTP statuses, connections that
// drop mid-body, servers that stall, and aborts.

import type { DecompressOptions } from './compress.js';
import { ImageDataset } from './dataset.js';
import { mnistFromIdx, fashionMnistFromIdx, cifar10FromArchive, cifar10FromBins, svhnFromMat } from './readers.js';

/** Default for FetchOptions.timeoutMs: a minute without a single byte arriving. */
export const DEFAULT_FETCH_TIMEOUT_MS = 60_000;

/** How a URL reader downloads: cancellation and the stall timeout. */
export interface FetchOptions {
  /** Aborts the download (and whatever part of a loader is still downloading). */
  signal?: AbortSignal;
  /**
   * Give up when no data arrives for this long, in milliseconds: while waiting for the response
   * headers, or between two pieces of the body. The timer restarts with every piece, so a large file
   * on a slow but steady connection is not cut off; a server that stalls is. Default
   * DEFAULT_FETCH_TIMEOUT_MS (60 s); 0 or Infinity waits forever.
   */
  timeoutMs?: number;
}

/** Options of the URL loaders: what to fetch with, and the cap on decompressed size. */
export type UrlLoaderOptions = FetchOptions & DecompressOptions;

/**
 * Fetch a URL as bytes. The body is read as a stream, so a connection that closes early or goes
 * silent is reported as such ("<url>: connection closed after N of M bytes", "<url>: no data for
 * 60 s ..."), and every error names the URL. An abort through `signal` rejects with a DOMException
 * named AbortError whose message names the URL.
 */
export async function fetchBytes(url: string | URL, init: RequestInit & FetchOptions = {}): Promise<Uint8Array> {
  const where = String(url);
  const { signal, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS, ...requestInit } = init;
  if (!(timeoutMs >= 0)) throw new Error(`${where}: timeoutMs must be a number of milliseconds >= 0, got ${String(timeoutMs)}`);
  const aborted = (progress: string) => new DOMException(`${where}: aborted${progress} (${reasonText(signal?.reason)})`, 'AbortError');
  if (signal?.aborted) throw aborted('');

  // One controller stops fetch for both causes: the caller's signal and our stall timer.
  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', abortFromCaller, { once: true });
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restartTimer = () => {
    clearTimeout(timer);
    // setTimeout fires at once for delays past 2^31 - 1 ms (24.8 days); treat those as "forever" too.
    if (timeoutMs > 0 && timeoutMs <= 0x7fffffff) {
      timer = setTimeout(() => {
        stalled = true;
        controller.abort();
      }, timeoutMs);
    }
  };
  let received = 0;
  let expected: number | undefined;
  const progress = () => (expected === undefined ? ` after ${received} bytes` : ` after ${received} of ${expected} bytes`);
  /** Turns whatever fetch (`inBody` false) or the body stream threw into an error that says what happened to `where`. */
  const explain = (err: unknown, inBody: boolean): Error => {
    const during = inBody ? ` while reading the body${progress()}` : ' waiting for the response';
    if (stalled) return new Error(`${where}: no data for ${timeoutMs / 1000} s${during}; pass a larger { timeoutMs } for a slow server`, { cause: err });
    if (signal?.aborted) return aborted(inBody ? progress() : ' before the response');
    // undici's errors are terse ("terminated", "fetch failed"); the underlying socket error is in `cause`.
    const cause = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
    return new Error(inBody ? `${where}: connection closed${progress()} (${cause})` : `${where}: request failed (${cause})`, { cause: err });
  };

  try {
    restartTimer();
    let response: Response;
    try {
      response = await fetch(url, { ...requestInit, signal: controller.signal });
    } catch (err) {
      throw explain(err, false);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`${where}: HTTP ${response.status} ${response.statusText}`);
    }
    // Content-Length counts the bytes on the wire, which are not the body's bytes when the server
    // applied a Content-Encoding (fetch undoes it), so it is only trusted without one.
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (!response.headers.get('content-encoding') && Number.isSafeInteger(length) && length >= 0) expected = length;
    if (!response.body) return new Uint8Array(await response.arrayBuffer());

    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      restartTimer();
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        throw explain(err, true);
      }
      if (next.done) break;
      chunks.push(next.value);
      received += next.value.length;
    }
    if (expected !== undefined && received !== expected) {
      throw new Error(`${where}: connection closed${progress()}`);
    }
    return concat(chunks, received);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abortFromCaller);
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'the signal was aborted' : String(reason);
}

function join(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

/**
 * MNIST or Fashion-MNIST from a URL folder holding the idx files (raw or `.gz`), e.g. files served
 * from a torchvision `MNIST/raw` folder: `await mnistFromURL('/data/MNIST/raw', { train: true })`.
 */
export async function mnistFromURL(baseUrl: string, opts: { train?: boolean; gzip?: boolean; fashion?: boolean } & UrlLoaderOptions = {}): Promise<ImageDataset> {
  const prefix = opts.train ?? true ? 'train' : 't10k';
  const ext = opts.gzip ? '.gz' : '';
  const images = join(baseUrl, `${prefix}-images-idx3-ubyte${ext}`);
  const labels = join(baseUrl, `${prefix}-labels-idx1-ubyte${ext}`);
  const [ib, lb] = await fetchAll([images, labels], opts);
  return (opts.fashion ? fashionMnistFromIdx : mnistFromIdx)(ib!, lb!, { images, labels }, opts);
}

/** CIFAR-10 from the URL of `cifar-10-binary.tar.gz`, or of a folder of `.bin` batches (`files` lists them). */
export async function cifar10FromURL(url: string, opts: { train?: boolean; files?: string[] } & UrlLoaderOptions = {}): Promise<ImageDataset> {
  if (opts.files) {
    const names = opts.files.map((f) => join(url, f));
    const bytes = await fetchAll(names, opts);
    return cifar10FromBins(names.map((name, i) => ({ name, bytes: bytes[i]! })), undefined, opts);
  }
  return cifar10FromArchive(await fetchBytes(url, fetchOptions(opts)), url, { ...opts, train: opts.train ?? true });
}

/** SVHN from the URL of `train_32x32.mat` / `test_32x32.mat`. */
export async function svhnFromURL(url: string, opts: UrlLoaderOptions = {}): Promise<ImageDataset> {
  return svhnFromMat(await fetchBytes(url, fetchOptions(opts)), url, opts);
}

/** Only the fetch options go to fetch (the loaders' other options are not RequestInit fields). */
function fetchOptions(opts: FetchOptions): FetchOptions {
  return { signal: opts.signal, timeoutMs: opts.timeoutMs };
}

/** Several downloads at once; the first failure aborts the others rather than leaving them running. */
async function fetchAll(urls: readonly string[], opts: FetchOptions): Promise<Uint8Array[]> {
  const siblings = new AbortController();
  const forward = () => siblings.abort(opts.signal?.reason);
  if (opts.signal?.aborted) forward();
  opts.signal?.addEventListener('abort', forward, { once: true });
  try {
    return await Promise.all(
      urls.map((url) =>
        fetchBytes(url, { signal: siblings.signal, timeoutMs: opts.timeoutMs }).catch((err: unknown) => {
          siblings.abort(err);
          throw err;
        }),
      ),
    );
  } finally {
    opts.signal?.removeEventListener('abort', forward);
  }
}
