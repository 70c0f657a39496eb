#!/usr/bin/env node
// Run HubSpot's own "CRM - Imports API Collection" (shared/reference/hubspot/postman/) against
// hubport with newman's library API, as-is: only its baseUrl variable points at hubport, and
// its placeholders (<long>, <string>, <integer>, <boolean>) stay as they are.
//
// Two passes:
//   as-is        the collection's own auth (oauth2 without a token: no Authorization header)
//   with token   the same requests with `Authorization: Bearer <token>` instead, so the
//                placeholders reach the handlers rather than stopping at authentication
//
// Every request must get a 2xx, or a 4xx with a JSON body of HubSpot's error shape
// (status "error", message, correlationId, category); never a 5xx, another status, or no answer.
//
// usage: node hubspot_collection.cjs <collection.json> <baseUrl> <token> [report.json]

'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [collectionPath, baseUrl, token, reportPath] = process.argv.slice(2);
if (!collectionPath || !baseUrl || !token) {
  console.error('usage: node hubspot_collection.cjs <collection.json> <baseUrl> <token> [report.json]');
  process.exit(2);
}
const clientsDir = process.env.HUBPORT_CLIENTS_DIR || path.resolve(__dirname, '../../../target/clients');
const newman = require(path.join(clientsDir, 'postman', 'node_modules', 'newman'));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function withBearer(collection) {
  const c = JSON.parse(JSON.stringify(collection));
  const strip = (items) => {
    for (const it of items) {
      if (it.item) strip(it.item);
      if (it.request) delete it.request.auth;
      delete it.auth;
    }
  };
  strip(c.item);
  c.auth = { type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] };
  return c;
}

function run(collection) {
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        envVar: [
          { key: 'baseUrl', value: baseUrl },
          { key: 'token', value: token },
        ],
        reporters: [],
        timeoutRequest: 30_000,
        timeout: 300_000,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

function check(exec) {
  const problems = [];
  const res = exec.response;
  if (!res) return { code: null, problems: [`no response: ${exec.requestError?.message ?? 'request error'}`] };
  const code = res.code;
  const ct = res.headers.get('Content-Type') || '';
  const text = res.stream ? Buffer.from(res.stream).toString('utf8') : '';
  let body;
  try {
    body = JSON.parse(text);
  } catch {}
  if (code >= 500) problems.push(`server error ${code}`);
  else if (code >= 400) {
    if (!/^application\/json/.test(ct)) problems.push(`4xx Content-Type is "${ct}", not application/json`);
    if (!body || typeof body !== 'object') problems.push('4xx body is not JSON');
    else {
      if (body.status !== 'error') problems.push('error body: status is not "error"');
      if (typeof body.message !== 'string') problems.push('error body: no message');
      if (typeof body.category !== 'string') problems.push('error body: no category');
      if (!UUID.test(body.correlationId || '')) problems.push('error body: correlationId is not a UUID');
    }
  } else if (code < 200 || code >= 300) problems.push(`unexpected status ${code}`);
  else if (!/^application\/json/.test(ct)) problems.push(`2xx Content-Type is "${ct}", not application/json`);
  return { code, body, text, problems };
}

(async () => {
  const original = JSON.parse(fs.readFileSync(collectionPath, 'utf8'));
  const passes = [
    ['as-is', original],
    ['with token', withBearer(original)],
  ];
  const rows = [];
  for (const [label, collection] of passes) {
    const summary = await run(collection);
    for (const exec of summary.run.executions) {
      const r = check(exec);
      const req = exec.request;
      rows.push({
        pass: label,
        name: exec.item.name,
        method: req.method,
        url: req.url.toString(),
        headers: req.headers.all().map((h) => `${h.key}: ${h.key.toLowerCase() === 'authorization' ? 'Bearer …' : h.value}`),
        code: r.code,
        category: r.body?.category,
        message: r.body?.message,
        problems: r.problems,
        body: r.problems.length ? (r.text || '').slice(0, 600) : undefined,
      });
    }
  }

  // Guard against a vacuous pass: every request of the collection ran in every pass.
  const countRequests = (items) => items.reduce((n, it) => n + (it.item ? countRequests(it.item) : it.request ? 1 : 0), 0);
  const expected = countRequests(original.item) * passes.length;
  if (expected === 0 || rows.length !== expected) {
    rows.push({ pass: '-', name: 'run', method: '-', url: '-', headers: [], code: null,
      problems: [`expected ${expected} executions, got ${rows.length}`] });
  }
  console.log(`\n== HubSpot's "${original.info?.name}" against ${baseUrl}`);
  for (const r of rows) {
    const verdict = r.problems.length ? 'FAIL' : 'ok  ';
    const what = r.category ? `${r.category}: ${r.message}` : '';
    console.log(`${verdict} [${r.pass}] ${r.method} ${r.url} -> ${r.code ?? 'no answer'} ${what}`.slice(0, 260));
    for (const p of r.problems) console.log(`       ${p}`);
    if (r.problems.length) {
      console.log(`       request headers: ${r.headers.join(' | ')}`);
      console.log(`       response body: ${r.body}`);
    }
  }
  const failed = rows.filter((r) => r.problems.length).length;
  const passed = rows.length - failed;
  if (reportPath) fs.writeFileSync(reportPath, JSON.stringify(rows, null, 2));
  console.log(`HubSpot collection: ${rows.length} requests (${passes.length} passes), ${passed} ok, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
