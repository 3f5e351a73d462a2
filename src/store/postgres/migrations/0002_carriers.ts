// Forward-only: once merged, never edit this file; add 0003_… instead. Mirrors the SQLite
// migration of the same number; the differences are types (jsonb, bigint, identity) only.
// carrier_exchanges keeps request and response as text, not jsonb: they hold carrier bodies as
// received, and jsonb refuses the \u0000 escape that any such body may contain; nothing queries
// inside them.
export const name = 'carriers';
export const sql = `
ALTER TABLE attempts ADD COLUMN provider_state jsonb;

CREATE TABLE carrier_exchanges (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_key   bigint NOT NULL,
  seq         integer NOT NULL,
  number      integer NOT NULL,
  provider    text NOT NULL,
  at          bigint NOT NULL,
  duration_ms integer NOT NULL,
  request     text NOT NULL,
  response    text,
  error       text
);
CREATE INDEX carrier_exchanges_recipient ON carrier_exchanges (batch_key, seq, id);

CREATE TABLE dial_pacing (
  pacing_key   text PRIMARY KEY,
  next_slot_at bigint NOT NULL
);
`;
