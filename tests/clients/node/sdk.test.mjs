// HubSpot's official Node SDK (@hubspot/api-client) against hubport: only basePath and the
// token differ from a program written for api.hubapi.com.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHubport, loadSdk, waitForImport, readJson, fixturesDir } from './lib/hubport.mjs';

const { Client } = loadSdk();

const LEADS_CSV = path.join(fixturesDir, 'Nov-event-leads.csv');
const LEADS_REQ = readJson(path.join(fixturesDir, 'Nov-event-leads.importRequest.json'));
const DEALS_CSV = path.join(fixturesDir, 'deals-with-contacts-and-companies.csv');
const DEALS_REQ = readJson(path.join(fixturesDir, 'deals-with-contacts-and-companies.importRequest.json'));

/** Assert that `promise` rejects with the SDK's ApiException carrying `code` and a HubSpot error body. */
async function rejectsApi(promise, code, category) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an ApiException ${code}, the call succeeded`);
  assert.equal(err.constructor?.name, 'ApiException', `expected ApiException, got ${err}`);
  assert.equal(err.code, code, `status: ${err.code} body: ${JSON.stringify(err.body)}`);
  assert.equal(typeof err.body, 'object', `error body was not parsed as JSON: ${JSON.stringify(err.body)}`);
  assert.equal(typeof err.body.message, 'string');
  assert.match(err.body.correlationId, /^[0-9a-f-]{36}$/);
  if (category) assert.equal(err.body.category, category, JSON.stringify(err.body));
  return err;
}

let hub;
let client;
let leadsImport; // the DONE import of the guide sample

before(async () => {
  hub = await startHubport();
  client = new Client({ accessToken: hub.token, basePath: hub.baseUrl });
});

after(async () => {
  await hub?.stop();
});

describe('crm.imports (guide sample Nov-event-leads.csv)', () => {
  test('coreApi.create uploads the file and answers 200 STARTED', async () => {
    const created = await client.crm.imports.coreApi.create(
      { data: fs.createReadStream(LEADS_CSV), name: 'Nov-event-leads.csv' },
      JSON.stringify(LEADS_REQ),
    );
    assert.match(created.id, /^\d+$/);
    assert.ok(['STARTED', 'PROCESSING', 'DONE'].includes(created.state), created.state);
    assert.ok(created.createdAt instanceof Date && !isNaN(created.createdAt), 'createdAt parses as a Date');
    assert.ok(created.updatedAt instanceof Date && !isNaN(created.updatedAt), 'updatedAt parses as a Date');
    assert.equal(created.optOutImport, false);
    assert.deepEqual(created.mappedObjectTypeIds, ['0-1']);
    assert.equal(created.importName, LEADS_REQ.name);
    assert.equal(created.importSource, 'API');
    assert.equal(created.metadata.fileIds.length, 1);
    assert.ok(Array.isArray(created.metadata.objectLists));
    assert.equal(typeof created.metadata.counters, 'object');
    leadsImport = created;
  });

  test('coreApi.getById polls until DONE with the expected counters', async () => {
    assert.ok(leadsImport, 'create failed');
    const done = await waitForImport(client, leadsImport.id);
    assert.equal(done.state, 'DONE');
    assert.equal(done.id, leadsImport.id);
    const c = done.metadata.counters;
    assert.equal(c.TOTAL_ROWS, 5, JSON.stringify(c));
    assert.equal(c.CREATED_OBJECTS, 4, JSON.stringify(c));
    assert.equal(c.ERRORS, 1, JSON.stringify(c));
    assert.equal(done.importRequestJson?.importName, LEADS_REQ.name, 'importRequestJson.importName (read by HubSpot samples)');
    leadsImport = done;
  });

  test('coreApi.getPage lists imports newest first and pages with paging.next.after', async () => {
    assert.ok(leadsImport, 'create failed');
    const second = await client.crm.imports.coreApi.create(
      { data: fs.createReadStream(DEALS_CSV), name: 'deals-with-contacts-and-companies.csv' },
      JSON.stringify(DEALS_REQ),
    );
    await waitForImport(client, second.id);

    const page = await client.crm.imports.coreApi.getPage();
    const ids = page.results.map((r) => r.id);
    assert.deepEqual(ids, [second.id, leadsImport.id]);
    assert.equal(page.paging, undefined, 'no paging when there is no next page');

    const p1 = await client.crm.imports.coreApi.getPage(undefined, undefined, 1);
    assert.deepEqual(p1.results.map((r) => r.id), [second.id]);
    assert.ok(p1.paging?.next?.after, 'paging.next.after on a partial page');
    const p2 = await client.crm.imports.coreApi.getPage(p1.paging.next.after, undefined, 1);
    assert.deepEqual(p2.results.map((r) => r.id), [leadsImport.id]);
    assert.ok(p2.results[0].createdAt instanceof Date);
  });

  test('publicImportsApi.getErrors with includeErrorMessage and includeRowData', async () => {
    assert.ok(leadsImport, 'create failed');
    const errs = await client.crm.imports.publicImportsApi.getErrors(
      Number(leadsImport.id),
      undefined,
      undefined,
      true,
      true,
    );
    assert.equal(errs.results.length, 1, JSON.stringify(errs));
    const e = errs.results[0];
    assert.equal(e.errorType, 'INVALID_EMAIL');
    assert.equal(typeof e.id, 'string');
    assert.equal(typeof e.createdAt, 'number', 'PublicImportError.createdAt is epoch millis');
    assert.equal(typeof e.errorMessage, 'string');
    assert.ok(e.errorMessage.length > 0);
    assert.equal(e.objectTypeId, '0-1');
    assert.equal(e.invalidValue, 'not-an-email');
    assert.deepEqual(e.sourceData.rowData, ['Edsger', 'Dijkstra', 'not-an-email']);
    assert.equal(e.sourceData.lineNumber, 5);
    assert.equal(String(e.sourceData.fileId), leadsImport.metadata.fileIds[0]);
    assert.equal(e.sourceData.containsEncryptedProperties, false);
  });

  test('publicImportsApi.getErrors without the include flags leaves message and row data out', async () => {
    assert.ok(leadsImport, 'create failed');
    const errs = await client.crm.imports.publicImportsApi.getErrors(Number(leadsImport.id));
    assert.equal(errs.results.length, 1);
    assert.equal(errs.results[0].errorType, 'INVALID_EMAIL');
    assert.equal(errs.results[0].errorMessage, undefined);
    assert.deepEqual(errs.results[0].sourceData.rowData, []);
  });

  test('coreApi.cancel of a finished import rejects with ApiException 400 VALIDATION_ERROR', async () => {
    assert.ok(leadsImport, 'create failed');
    await rejectsApi(client.crm.imports.coreApi.cancel(Number(leadsImport.id)), 400, 'VALIDATION_ERROR');
    const still = await client.crm.imports.coreApi.getById(Number(leadsImport.id));
    assert.equal(still.state, 'DONE', 'a refused cancel changes nothing');
  });

  test('coreApi.getById of an unknown import rejects with 404 OBJECT_NOT_FOUND', async () => {
    await rejectsApi(client.crm.imports.coreApi.getById(987654321), 404, 'OBJECT_NOT_FOUND');
  });

  test('a bad token rejects with 401 INVALID_AUTHENTICATION', async () => {
    const bad = new Client({ accessToken: 'not-a-token', basePath: hub.baseUrl });
    await rejectsApi(bad.crm.imports.coreApi.getPage(), 401, 'INVALID_AUTHENTICATION');
  });
});

describe('crm.contacts / companies / deals / objects (records written by the imports)', () => {
  test('contacts.basicApi.getPage(10, undefined, [email, firstname])', async () => {
    assert.ok(leadsImport?.state === 'DONE', 'the leads import did not finish');
    const page = await client.crm.contacts.basicApi.getPage(10, undefined, ['email', 'firstname']);
    const emails = page.results.map((r) => r.properties.email).sort();
    // 4 from the leads sample + 2 distinct from the deals file
    assert.deepEqual(emails, [
      'ada@analytical.example',
      'alan@bletchley.example',
      'barbara@mit.example',
      'grace.hopper@navy.example',
      'leo@contoso.example',
      'mia@northwind.example',
    ]);
    for (const r of page.results) {
      assert.match(r.id, /^\d+$/);
      assert.ok(r.createdAt instanceof Date && !isNaN(r.createdAt));
      assert.ok(r.updatedAt instanceof Date && !isNaN(r.updatedAt));
      assert.equal(r.archived, false);
      assert.ok('firstname' in r.properties);
    }
    const ada = page.results.find((r) => r.properties.email === 'ada@analytical.example');
    assert.equal(ada.properties.firstname, 'Ada');
  });

  test('contacts.basicApi.getPage pages with limit and after', async () => {
    const p1 = await client.crm.contacts.basicApi.getPage(4, undefined, ['email']);
    assert.equal(p1.results.length, 4);
    assert.ok(p1.paging?.next?.after, 'paging.next.after');
    const p2 = await client.crm.contacts.basicApi.getPage(4, p1.paging.next.after, ['email']);
    assert.equal(p2.results.length, 2);
    assert.equal(p2.paging, undefined);
    const all = new Set([...p1.results, ...p2.results].map((r) => r.id));
    assert.equal(all.size, 6);
  });

  test('contacts.getAll walks every page (limit 100)', async () => {
    const all = await client.crm.contacts.getAll(undefined, undefined, ['email']);
    assert.equal(all.length, 6);
  });

  test("contacts.basicApi.getById(email, ['firstname'], …, idProperty 'email')", async () => {
    const c = await client.crm.contacts.basicApi.getById(
      'ada@analytical.example',
      ['firstname'],
      undefined,
      undefined,
      false,
      'email',
    );
    assert.match(c.id, /^\d+$/);
    assert.equal(c.properties.firstname, 'Ada');
    const byId = await client.crm.contacts.basicApi.getById(c.id, ['email', 'lastname']);
    assert.equal(byId.properties.email, 'ada@analytical.example');
    assert.equal(byId.properties.lastname, 'Lovelace');
    // the uppercase address in the file was lowercased
    const barbara = await client.crm.contacts.basicApi.getById(
      'barbara@mit.example', ['firstname'], undefined, undefined, false, 'email');
    assert.equal(barbara.properties.firstname, 'Barbara');
  });

  test('contacts.basicApi.getById of an unknown email rejects with 404', async () => {
    await rejectsApi(
      client.crm.contacts.basicApi.getById('nobody@nowhere.example', ['firstname'], undefined, undefined, false, 'email'),
      404,
      'OBJECT_NOT_FOUND',
    );
  });

  test('companies and deals from the multi-object import', async () => {
    const companies = await client.crm.companies.basicApi.getPage(10, undefined, ['domain', 'name']);
    assert.deepEqual(
      companies.results.map((r) => r.properties.domain).sort(),
      ['contoso.example', 'fabrikam.example', 'northwind.example'],
    );
    const contoso = await client.crm.companies.basicApi.getById(
      'contoso.example', ['name'], undefined, undefined, false, 'domain');
    assert.equal(contoso.properties.name, 'Contoso');
    const deals = await client.crm.deals.basicApi.getPage(10, undefined, ['dealname', 'amount']);
    assert.equal(deals.results.length, 3);
    const byName = Object.fromEntries(deals.results.map((d) => [d.properties.dealname, d.properties.amount]));
    assert.equal(Number(byName['Northwind annual']), 12500);
    assert.equal(Number(byName['Fabrikam expansion']), 4100.5);
  });

  test("objects.basicApi.getPage('0-1') and getById('0-1', email, idProperty)", async () => {
    const page = await client.crm.objects.basicApi.getPage('0-1', 100, undefined, ['email']);
    assert.equal(page.results.length, 6);
    const one = await client.crm.objects.basicApi.getById(
      'contacts', 'grace.hopper@navy.example', ['lastname'], undefined, undefined, false, 'email');
    assert.equal(one.properties.lastname, 'Hopper');
  });
});

describe('crm.properties', () => {
  test("coreApi.getAll('contacts') lists HubSpot's default properties", async () => {
    const all = await client.crm.properties.coreApi.getAll('contacts');
    assert.ok(Array.isArray(all.results));
    const names = new Set(all.results.map((p) => p.name));
    for (const n of ['email', 'firstname', 'lastname']) assert.ok(names.has(n), `contacts property ${n}`);
    for (const p of all.results) {
      for (const k of ['name', 'label', 'type', 'fieldType', 'groupName', 'description']) {
        assert.equal(typeof p[k], 'string', `${p.name}.${k}`);
      }
      assert.ok(Array.isArray(p.options), `${p.name}.options`);
    }
    const email = all.results.find((p) => p.name === 'email');
    assert.equal(email.type, 'string');
    assert.equal(email.groupName, 'contactinformation');
  });

  test("coreApi.getAll('companies') and getAll('deals')", async () => {
    const companies = await client.crm.properties.coreApi.getAll('companies');
    assert.ok(companies.results.some((p) => p.name === 'domain'));
    const deals = await client.crm.properties.coreApi.getAll('deals');
    const stage = deals.results.find((p) => p.name === 'dealstage');
    assert.ok(stage, 'deals property dealstage');
    assert.equal(stage.type, 'enumeration');
    assert.ok(stage.options.length > 0, 'dealstage has options');
    for (const o of stage.options) {
      assert.equal(typeof o.label, 'string');
      assert.equal(typeof o.value, 'string');
      assert.equal(typeof o.hidden, 'boolean');
    }
  });

  test("coreApi.getByName('contacts', 'email')", async () => {
    const p = await client.crm.properties.coreApi.getByName('contacts', 'email');
    assert.equal(p.name, 'email');
    assert.equal(p.type, 'string');
    await rejectsApi(client.crm.properties.coreApi.getByName('contacts', 'no_such_property_x'), 404);
  });

  test("coreApi.create('contacts', favorite_food) answers 201 Property; again answers 409", async () => {
    const created = await client.crm.properties.coreApi.create('contacts', {
      name: 'favorite_food',
      label: 'Favorite Food',
      type: 'string',
      fieldType: 'text',
      groupName: 'contactinformation',
    });
    assert.equal(created.name, 'favorite_food');
    assert.equal(created.label, 'Favorite Food');
    assert.equal(created.type, 'string');
    assert.equal(created.fieldType, 'text');
    assert.equal(created.groupName, 'contactinformation');
    assert.ok(Array.isArray(created.options));
    assert.notEqual(created.hubspotDefined, true);

    const again = await client.crm.properties.coreApi.getByName('contacts', 'favorite_food');
    assert.equal(again.label, 'Favorite Food');
    const all = await client.crm.properties.coreApi.getAll('contacts');
    assert.ok(all.results.some((p) => p.name === 'favorite_food'));

    await rejectsApi(
      client.crm.properties.coreApi.create('contacts', {
        name: 'favorite_food', label: 'Favorite Food', type: 'string', fieldType: 'text', groupName: 'contactinformation',
      }),
      409,
    );
  });

  test('a property created through the API can be imported into and read back', async () => {
    // Depends on the previous test's favorite_food property.
    const dir = fs.mkdtempSync(path.join(hub.dir, 'food-'));
    const csv = path.join(dir, 'food.csv');
    fs.writeFileSync(csv, 'Email,Favorite Food\nada@analytical.example,Seed cake\n');
    const req = {
      name: 'favorite foods',
      files: [{
        fileName: 'food.csv',
        fileFormat: 'CSV',
        fileImportPage: {
          hasHeader: true,
          columnMappings: [
            { columnObjectTypeId: '0-1', columnName: 'Email', propertyName: 'email', columnType: 'HUBSPOT_ALTERNATE_ID' },
            { columnObjectTypeId: '0-1', columnName: 'Favorite Food', propertyName: 'favorite_food' },
          ],
        },
      }],
    };
    const imp = await client.crm.imports.coreApi.create(
      { data: fs.createReadStream(csv), name: 'food.csv' }, JSON.stringify(req));
    const done = await waitForImport(client, imp.id);
    assert.equal(done.state, 'DONE');
    assert.equal(done.metadata.counters.ERRORS ?? 0, 0, JSON.stringify(done.metadata.counters));
    const ada = await client.crm.contacts.basicApi.getById(
      'ada@analytical.example', ['favorite_food'], undefined, undefined, false, 'email');
    assert.equal(ada.properties.favorite_food, 'Seed cake');
  });
});

describe('client.apiRequest (the SDK\'s raw escape hatch) uses basePath too', () => {
  test('GET /crm/v3/imports', async () => {
    const res = await client.apiRequest({ method: 'GET', path: '/crm/v3/imports' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const body = await res.json();
    assert.ok(Array.isArray(body.results));
  });
});
