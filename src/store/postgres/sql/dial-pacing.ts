// $1 pacing_key, $2 span_ms (count × interval, whole ms), $3 now — see the SQLite twin. One
// statement: a process that conflicts waits on the row lock of the one before it and then adds
// to what that one wrote, so spans never overlap.
export const dialPacingReserve = `
INSERT INTO dial_pacing (pacing_key, next_slot_at) VALUES ($1, $3::bigint + $2::bigint)
ON CONFLICT (pacing_key) DO UPDATE SET next_slot_at = greatest(dial_pacing.next_slot_at, $3::bigint) + $2::bigint
RETURNING next_slot_at - $2::bigint AS first_slot_at`;
