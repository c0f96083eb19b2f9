-- Files sent with a message (the case dossier), as JSON: filename, content type, content.
ALTER TABLE outbox ADD COLUMN attachment TEXT;
