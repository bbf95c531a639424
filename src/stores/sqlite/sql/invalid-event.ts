/**
 * Why an events row is not a valid event, or NULL if it is: shared by the audit's scan, which reports such a row, and
 * schema step 9's check, which will not take a balance from a log holding one. A CHECK forbids these, but a file
 * edited by hand (`ignore_check_constraints`), or a REAL amount, gets past it.
 */
export const invalidEvent = `CASE WHEN type NOT IN ('CHARGE', 'USE', 'REFUND', 'HOLD', 'CAPTURE', 'RELEASE', 'EXPIRE') THEN 'type ' || quote(type)
  WHEN typeof(amount) <> 'integer' OR amount <= 0 THEN 'amount ' || quote(amount) END`
