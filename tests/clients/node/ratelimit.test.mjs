// Rate limits as HubSpot's Node SDK sees them: the 429 body and headers, and the SDK's
// RetryDecorator (numberOfApiCallRetries) riding over a TEN_SECONDLY_ROLLING 429.
//
// The SDK waits 10 s x attempt before retrying a 429 whose body has
// policyName "TEN_SECONDLY_ROLLING", so the retry test takes 10-30 s.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHubport, loadSdk } from './lib/hubport.mjs';

const { Client } = loadSdk();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const servers = [];
after(async () => {
  for (const s of servers) await s.stop();
});
async function server(env) {
  const s = await startHubport({ env });
  servers.push(s);
  return s;
}

async function get(hub, path, token = hub.token) {
  const res = await fetch(hub.baseUrl + path, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

function assertLimitHeaders(r, { max, remaining }) {
  const h = r.headers;
  assert.equal(h.get('x-hubspot-ratelimit-max'), String(max), 'X-HubSpot-RateLimit-Max');
  assert.equal(h.get('x-hubspot-ratelimit-remaining'), String(remaining), 'X-HubSpot-RateLimit-Remaining');
  assert.equal(h.get('x-hubspot-ratelimit-interval-milliseconds'), '10000', 'X-HubSpot-RateLimit-Interval-Milliseconds');
  assert.match(h.get('x-hubspot-ratelimit-daily') ?? '', /^\d+$/, 'X-HubSpot-RateLimit-Daily');
  assert.match(h.get('x-hubspot-ratelimit-daily-remaining') ?? '', /^\d+$/, 'X-HubSpot-RateLimit-Daily-Remaining');
}

describe('TEN_SECONDLY_ROLLING limit (HUBPORT_RATE_LIMIT_PER_10S=3)', () => {
  test('raw fetch: rate-limit headers count down, the 4th call gets HubSpot\'s exact 429', { timeout: 60_000 }, async () => {
    const hub = await server({ HUBPORT_RATE_LIMIT_PER_10S: '3' });
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const r = await get(hub, '/crm/v3/imports');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen.push(r);
    }
    seen.forEach((r, i) => assertLimitHeaders(r, { max: 3, remaining: 2 - i }));
    const d = seen.map((r) => Number(r.headers.get('x-hubspot-ratelimit-daily-remaining')));
    assert.ok(d[0] > d[1] && d[1] > d[2], `daily remaining counts down: ${d}`);

    const r = await get(hub, '/crm/v3/imports');
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const retryAfter = r.headers.get('retry-after');
    assert.match(retryAfter ?? '', /^\d+$/, `Retry-After in whole seconds, got ${retryAfter}`);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 10, `Retry-After ${retryAfter} within the 10 s window`);
    const { correlationId, ...rest } = r.body;
    assert.match(correlationId, UUID);
    assert.equal(r.headers.get('x-hubspot-correlation-id'), correlationId);
    assert.deepEqual(rest, {
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      category: 'RATE_LIMITS',
    });
    assertLimitHeaders(r, { max: 3, remaining: 0 });

    // /health needs no token and is not limited
    const health = await fetch(hub.baseUrl + '/health');
    assert.equal(health.status, 200);

    // The SDK without retries surfaces the 429 as an ApiException whose body keeps policyName.
    const noRetry = new Client({ accessToken: hub.token, basePath: hub.baseUrl });
    let err;
    try {
      await noRetry.crm.imports.coreApi.getPage();
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'expected a 429 ApiException');
    assert.equal(err.code, 429);
    assert.equal(err.body.policyName, 'TEN_SECONDLY_ROLLING');
    assert.equal(err.body.category, 'RATE_LIMITS');

    // A burst 429 says nothing about the daily budget: 4 calls out of 625,000 leave plenty.
    const dailyLeft = Number(r.headers.get('x-hubspot-ratelimit-daily-remaining'));
    assert.ok(dailyLeft > 0 && dailyLeft <= d[2],
      `X-HubSpot-RateLimit-Daily-Remaining on the 10-secondly 429 is ${dailyLeft}; expected 1..${d[2]} (daily limit ${r.headers.get('x-hubspot-ratelimit-daily')})`);
  });

  test('SDK with numberOfApiCallRetries: 3 — 6 quick calls all succeed', { timeout: 90_000 }, async () => {
    const hub = await server({ HUBPORT_RATE_LIMIT_PER_10S: '3' });
    const client = new Client({ accessToken: hub.token, basePath: hub.baseUrl, numberOfApiCallRetries: 3 });
    const retries = [];
    const origError = console.error;
    console.error = (...args) => {
      const line = args.join(' ');
      if (line.includes('Request failed with status code')) retries.push(line);
      else origError(...args);
    };
    const t0 = Date.now();
    let results;
    try {
      results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          i % 2 === 0
            ? client.crm.imports.coreApi.getPage()
            : client.crm.contacts.basicApi.getPage(10, undefined, ['email'])),
      );
    } finally {
      console.error = origError;
    }
    const elapsed = Date.now() - t0;
    assert.equal(results.length, 6);
    for (const r of results) assert.ok(Array.isArray(r.results));
    assert.ok(retries.length >= 3, `the SDK retried at least 3 calls after a 429 (saw ${retries.length}: ${retries.join(' | ')})`);
    assert.ok(retries.every((l) => l.includes('[429]')), retries.join(' | '));
    assert.ok(elapsed >= 9_000, `retries waited the SDK's 10 s back-off (${elapsed} ms)`);
    console.log(`6 calls over a 3/10 s limit: ${retries.length} retries, ${elapsed} ms`);
  });
});

describe('DAILY limit (HUBPORT_RATE_LIMIT_PER_DAY=2)', () => {
  test('the 3rd call gets a DAILY 429, which the SDK does not retry', { timeout: 30_000 }, async () => {
    const hub = await server({ HUBPORT_RATE_LIMIT_PER_DAY: '2' });
    for (let i = 0; i < 2; i++) {
      const r = await get(hub, '/crm/v3/imports');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.headers.get('x-hubspot-ratelimit-daily'), '2');
      assert.equal(r.headers.get('x-hubspot-ratelimit-daily-remaining'), String(1 - i));
    }
    const r = await get(hub, '/crm/v3/imports');
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.body.status, 'error');
    assert.equal(r.body.errorType, 'RATE_LIMIT');
    assert.equal(r.body.policyName, 'DAILY');
    assert.equal(r.body.message, 'You have reached your daily limit.');
    assert.equal(r.body.category, 'RATE_LIMITS');
    assert.match(r.body.correlationId, UUID);

    const client = new Client({ accessToken: hub.token, basePath: hub.baseUrl, numberOfApiCallRetries: 3 });
    const t0 = Date.now();
    let err;
    try {
      await client.crm.imports.coreApi.getPage();
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'expected a 429 ApiException');
    assert.equal(err.code, 429);
    assert.equal(err.body.policyName, 'DAILY');
    assert.ok(Date.now() - t0 < 5_000, 'a DAILY 429 is not retried');
  });
});
