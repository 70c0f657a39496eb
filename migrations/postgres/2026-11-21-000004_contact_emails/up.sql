-- Contacts' secondary emails (hs_additional_emails), indexed so that an import row whose email
-- is someone's secondary address updates that contact instead of creating a duplicate.
CREATE TABLE contact_emails (
    portal_id BIGINT NOT NULL,
    email TEXT NOT NULL,
    contact_id BIGINT NOT NULL,
    PRIMARY KEY (portal_id, email)
);
CREATE INDEX contact_emails_contact ON contact_emails (portal_id, contact_id);
