-- 0002: what the promise keeper records on a callback (queue.Promise).
--   promised_at: when the promise was made, the start of the window that
--                punctuality is measured against.
--   written:     the reset promised a written update instead of the call.
--   missed_at:   when the current deadline passed with the call not placed.
--   chases:      the customer's calls in while the callback was pending.
ALTER TABLE tickets ADD COLUMN promised_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN written     INTEGER NOT NULL DEFAULT 0 CHECK (written IN (0, 1));
ALTER TABLE tickets ADD COLUMN missed_at   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN chases      INTEGER NOT NULL DEFAULT 0;
