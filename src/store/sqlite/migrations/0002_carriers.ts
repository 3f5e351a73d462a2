// Forward-only: once merged, never edit this file; add 0003_… instead.
export const name = 'carriers';
export const sql = `
-- What a provider keeps to end or look up a call from another process (a SIP dialog), as JSON.
ALTER TABLE attempts ADD COLUMN provider_state TEXT;

-- Append-only: one HTTP request to a carrier and its answer (or the error instead), secrets
-- already redacted; request and response are JSON text. Deleted with their batch.
CREATE TABLE carrier_exchanges (
  id          INTEGER PRIMARY KEY,
  batch_key   INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  number      INTEGER NOT NULL,
  provider    TEXT NOT NULL,
  at          INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  request     TEXT NOT NULL,
  response    TEXT,
  error       TEXT
) STRICT;
CREATE INDEX carrier_exchanges_recipient ON carrier_exchanges (batch_key, seq, id);

-- Calls-per-second pacing shared by every process: the time of the next free dial slot of a key.
CREATE TABLE dial_pacing (
  pacing_key   TEXT PRIMARY KEY,
  next_slot_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;
