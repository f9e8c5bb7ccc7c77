-- Tamper evidence for the audit log: events are sealed in order into a hash chain (chain_seq,
-- prev_hash, hash). A sealed event can no longer change; an unsealed one only gets its seal.

ALTER TABLE audit_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain_seq);
CREATE INDEX audit_events_unsealed ON audit_events (id) WHERE hash IS NULL;

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.hash IS NOT NULL
     OR (NEW.id, NEW.occurred_at, NEW.account_id, NEW.zone_id, NEW.actor_type, NEW.actor_id,
         NEW.source_ip, NEW.action, NEW.object_type, NEW.object_id, NEW.details)
        IS DISTINCT FROM
        (OLD.id, OLD.occurred_at, OLD.account_id, OLD.zone_id, OLD.actor_type, OLD.actor_id,
         OLD.source_ip, OLD.action, OLD.object_type, OLD.object_id, OLD.details)
  THEN
    RAISE EXCEPTION 'audit_events is append-only';
  END IF;
  RETURN NEW;
END;
$$;
