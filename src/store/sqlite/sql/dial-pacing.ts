// :pacing_key, :span_ms (count × interval, whole ms), :now — takes the next :span_ms of a pacing
// key in one statement and returns where it starts: at the end of the span taken before, or at
// :now when that is over (an idle key does not bank slots for a burst later).
export const dialPacingReserve = `
INSERT INTO dial_pacing (pacing_key, next_slot_at) VALUES (:pacing_key, :now + :span_ms)
ON CONFLICT (pacing_key) DO UPDATE SET next_slot_at = max(dial_pacing.next_slot_at, :now) + :span_ms
RETURNING next_slot_at - :span_ms AS first_slot_at`;
