// Start a throw-away hubport server for a client conformance test, and load HubSpot's Node SDK.
//
// startHubport() runs `$HUBPORT_BIN serve` (default <repo>/target/debug/hubport) on a free
// loopback port with a fresh SQLite database in a temp dir, waits for GET /health, mints a
// token with `hubport token create --portal 1`, and returns { baseUrl, token, stop, ... }.
// stop() kills the server and removes the temp dir; a process exit hook does the same for
// servers a failing test did not stop.

import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../../..');
export const fixturesDir = path.join(repoRoot, 'tests', 'fixtures');
export const clientsDir = process.env.HUBPORT_CLIENTS_DIR || path.join(repoRoot, 'target', 'clients');
export const hubportBin = process.env.HUBPORT_BIN || path.join(repoRoot, 'target', 'debug', 'hubport');

/** HubSpot's SDK, installed by run.sh into $HUBPORT_CLIENTS_DIR/node (git-ignored). */
export function loadSdk() {
  const req = createRequire(path.join(clientsDir, 'node', 'package.json'));
  try {
    return req('@hubspot/api-client');
  } catch (e) {
    throw new Error(
      `@hubspot/api-client not found under ${clientsDir}/node: run tests/clients/node/run.sh (${e.message})`,
    );
  }
}

const running = new Set();
process.on('exit', () => {
  for (const s of running) {
    try {
      s.child.kill('SIGKILL');
    } catch {}
    try {
      fs.rmSync(s.dir, { recursive: true, force: true });
    } catch {}
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{env?: Record<string,string>, startTimeoutMs?: number}} [opts]
 *   env: extra server environment, e.g. { HUBPORT_RATE_LIMIT_PER_10S: '3' }
 */
export async function startHubport(opts = {}) {
  if (!fs.existsSync(hubportBin)) {
    throw new Error(`hubport binary not found at ${hubportBin} (set HUBPORT_BIN or run cargo build)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubport-node-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${path.join(dir, 'hubport.db')}`,
    HUBPORT_DATA_DIR: dir,
    HUBPORT_JWT_SECRET: 'node-client-conformance-secret',
    HUBPORT_LOG_FORMAT: 'json',
    ...(opts.env || {}),
  };
  const logPath = path.join(dir, 'server.log');
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const log = fs.openSync(logPath, 'a');
    const child = spawn(hubportBin, ['serve', '--bind', `127.0.0.1:${port}`], {
      env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
    });
    const server = { child, dir, baseUrl, port, logPath };
    running.add(server);

    // Wait for /health (no token needed).
    let healthy = false;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${baseUrl}/health`);
        if (r.status === 200) {
          healthy = true;
          break;
        }
      } catch {}
      await sleep(100);
    }
    if (!healthy) {
      running.delete(server);
      child.kill('SIGKILL');
      const tail = readTail(logPath);
      // The port may have been taken between freePort() and bind: try again a few times.
      if (exited && attempt < 3 && Date.now() < deadline) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`hubport did not become healthy at ${baseUrl} (${JSON.stringify(exited)}):\n${tail}`);
    }

    const token = execFileSync(hubportBin, ['token', 'create', '--portal', '1'], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    if (!token || /\s/.test(token)) throw new Error(`token create printed ${JSON.stringify(token)}`);

    server.token = token;
    server.env = env;
    /** Mint another token (same env), e.g. for another portal. */
    server.mintToken = (args = ['--portal', '1']) =>
      execFileSync(hubportBin, ['token', 'create', ...args], { env, encoding: 'utf8' }).trim();
    server.logTail = () => readTail(logPath);
    server.stop = async () => {
      if (!running.has(server)) return;
      running.delete(server);
      if (!exited) {
        child.kill('SIGTERM');
        const t = Date.now();
        while (!exited && Date.now() - t < 5000) await sleep(50);
        if (!exited) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return server;
  }
}

function readTail(file, bytes = 4000) {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(Math.max(0, buf.length - bytes)).toString('utf8');
  } catch {
    return '(no server log)';
  }
}

/** Poll the SDK's getById until the import reaches a terminal state. */
export async function waitForImport(client, id, { timeoutMs = 30_000 } = {}) {
  const terminal = new Set(['DONE', 'FAILED', 'CANCELED']);
  const t = Date.now();
  for (;;) {
    const imp = await client.crm.imports.coreApi.getById(Number(id));
    if (terminal.has(imp.state)) return imp;
    if (Date.now() - t > timeoutMs) throw new Error(`import ${id} still ${imp.state} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export { sleep };
