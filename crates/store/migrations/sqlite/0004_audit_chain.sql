-- Tamper evidence for the audit log: events are sealed in order into a hash chain (chain_seq,
-- prev_hash, hash). A sealed event can no longer change; an unsealed one only gets its seal.

ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain_seq);
CREATE INDEX audit_events_unsealed ON audit_events (id) WHERE hash IS NULL;

DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.hash IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.occurred_at IS NOT OLD.occurred_at
  OR NEW.account_id IS NOT OLD.account_id OR NEW.zone_id IS NOT OLD.zone_id
  OR NEW.actor_type IS NOT OLD.actor_type OR NEW.actor_id IS NOT OLD.actor_id
  OR NEW.source_ip IS NOT OLD.source_ip OR NEW.action IS NOT OLD.action
  OR NEW.object_type IS NOT OLD.object_type OR NEW.object_id IS NOT OLD.object_id
  OR NEW.details IS NOT OLD.details
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
