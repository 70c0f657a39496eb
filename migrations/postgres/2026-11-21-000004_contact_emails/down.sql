DROP TABLE contact_emails;
