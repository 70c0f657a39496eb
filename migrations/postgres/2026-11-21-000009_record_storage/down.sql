ALTER TABLE deals DROP CONSTRAINT deals_pkey;
ALTER TABLE deals ADD CONSTRAINT deals_pkey PRIMARY KEY (id);
CREATE INDEX deals_portal_id ON deals (portal_id, id);
ALTER TABLE companies DROP CONSTRAINT companies_pkey;
ALTER TABLE companies ADD CONSTRAINT companies_pkey PRIMARY KEY (id);
CREATE INDEX companies_portal_id ON companies (portal_id, id);
ALTER TABLE contacts DROP CONSTRAINT contacts_pkey;
ALTER TABLE contacts ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);
CREATE INDEX contacts_portal_id ON contacts (portal_id, id);

ALTER TABLE deals RESET (fillfactor);
ALTER TABLE companies RESET (fillfactor);
ALTER TABLE contacts RESET (fillfactor);
