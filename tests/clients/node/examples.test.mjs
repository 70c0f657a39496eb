// examples/node/import_with_sdk.mjs, run as a user would, against a throw-away hubport.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startHubport, repoRoot, clientsDir } from './lib/hubport.mjs';

const run = promisify(execFile);
const example = path.join(repoRoot, 'examples', 'node', 'import_with_sdk.mjs');

let hub;
before(async () => {
  hub = await startHubport();
});
after(async () => {
  await hub?.stop();
});

test('examples/node/import_with_sdk.mjs imports the guide sample and prints counters and errors', async () => {
  const { stdout } = await run(process.execPath, [example], {
    cwd: repoRoot,
    env: { ...process.env, HUBPORT_URL: hub.baseUrl, HUBPORT_TOKEN: hub.token, HUBPORT_CLIENTS_DIR: clientsDir },
    timeout: 60_000,
  });
  assert.match(stdout, /^import \d+: STARTED$/m);
  assert.match(stdout, /^import \d+: DONE$/m);
  const counters = JSON.parse(stdout.match(/^counters: (.*)$/m)[1]);
  assert.equal(counters.TOTAL_ROWS, 5);
  assert.equal(counters.CREATED_OBJECTS, 4);
  assert.equal(counters.ERRORS, 1);
  assert.match(stdout, /^line 5: INVALID_EMAIL: .+ \["Edsger","Dijkstra","not-an-email"\]$/m);
});

test('examples/node/import_with_sdk.mjs reports an API error and exits 1', async () => {
  await assert.rejects(
    run(process.execPath, [example], {
      cwd: repoRoot,
      env: { ...process.env, HUBPORT_URL: hub.baseUrl, HUBPORT_TOKEN: 'not-a-token', HUBPORT_CLIENTS_DIR: clientsDir },
      timeout: 60_000,
    }),
    (e) => e.code === 1 && /HTTP 401: .*INVALID_AUTHENTICATION/.test(e.stderr),
  );
});
