// Import a CSV into hubport with HubSpot's Node SDK, wait for it, print counters and row errors.
//
//     npm install @hubspot/api-client@13.5.0
//     HUBPORT_TOKEN=$(hubport token create --portal 1) node examples/node/import_with_sdk.mjs \
//         [file.csv request.json]
//
// Defaults to examples/Nov-event-leads.csv and its importRequest (HubSpot's guide sample).
// HUBPORT_URL defaults to http://127.0.0.1:8080. Against HubSpot, only URL and token change:
// leave basePath out and pass your private app token.
//
// Without a local install, the SDK is also looked up where tests/clients/node/run.sh puts it
// ($HUBPORT_CLIENTS_DIR/node, default target/clients/node).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function loadSdk() {
  try {
    return await import('@hubspot/api-client');
  } catch {
    const clientsDir = process.env.HUBPORT_CLIENTS_DIR || path.resolve(examples, '..', 'target', 'clients');
    return createRequire(path.join(clientsDir, 'node', 'package.json'))('@hubspot/api-client');
  }
}

const { Client } = await loadSdk();

const basePath = (process.env.HUBPORT_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const accessToken = process.env.HUBPORT_TOKEN;
if (!accessToken) {
  console.error('set HUBPORT_TOKEN (hubport token create --portal 1)');
  process.exit(2);
}
const csvPath = process.argv[2] || path.join(examples, 'Nov-event-leads.csv');
const requestPath = process.argv[3] || path.join(examples, 'Nov-event-leads.importRequest.json');

const client = new Client({ accessToken, basePath, numberOfApiCallRetries: 3 });
const imports = client.crm.imports;

try {
  const created = await imports.coreApi.create(
    { data: fs.createReadStream(csvPath), name: path.basename(csvPath) },
    fs.readFileSync(requestPath, 'utf8'),
  );
  console.log(`import ${created.id}: ${created.state}`);

  let imp;
  for (;;) {
    imp = await imports.coreApi.getById(Number(created.id));
    if (['DONE', 'FAILED', 'CANCELED'].includes(imp.state)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`import ${imp.id}: ${imp.state}`);
  const counters = Object.fromEntries(Object.entries(imp.metadata.counters).sort());
  console.log('counters:', JSON.stringify(counters));

  let after;
  do {
    const page = await imports.publicImportsApi.getErrors(Number(imp.id), after, 100, true, true);
    for (const e of page.results) {
      const src = e.sourceData;
      console.log(`line ${src.lineNumber}: ${e.errorType}: ${e.errorMessage ?? ''} ${JSON.stringify(src.rowData)}`);
    }
    after = page.paging?.next?.after;
  } while (after);
} catch (e) {
  // The SDK throws ApiException {code, body, headers}; body is HubSpot's error JSON.
  console.error(`HTTP ${e.code ?? ''}: ${e.body ? JSON.stringify(e.body) : e.message}`);
  process.exit(1);
}
