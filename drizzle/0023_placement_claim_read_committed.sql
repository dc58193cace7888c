-- instances_claim_host (0022) counts every earlier claim only because each statement of a volatile function takes a
-- fresh snapshot, which READ COMMITTED alone does: under REPEATABLE READ or SERIALIZABLE it reads what was committed
-- when the transaction began, and a burst put 30 instances on a host with room for 10. So it refuses to claim under
-- any other level, loudly (CRPL2): createDb pins default_transaction_isolation on the pool's connections; this
-- catches a transaction that asks for another level, or a connection (a pooler's) with another default.
-- A host is alive by the clock of the claim's own statement (the COMMIT, for a deferred claim), not of the
-- transaction's start: a long transaction must not claim a host that went silent while it ran.
CREATE OR REPLACE FUNCTION "instances_claim_host"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  h hosts;
  used record;
  isolation text := current_setting('transaction_isolation');
BEGIN
  IF isolation <> 'read committed' THEN
    RAISE EXCEPTION 'instance % cannot claim room on its host under % isolation: placement counts concurrent claims only under READ COMMITTED', NEW.id, upper(isolation)
      USING ERRCODE = 'CRPL2', HINT = 'Run the transaction that places it at READ COMMITTED (createDb sets it as the connections'' default).';
  END IF;
  SELECT * INTO h FROM hosts WHERE id = NEW.host_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'host % of instance % is gone', NEW.host_id, NEW.id USING ERRCODE = 'CRPL1';
  END IF;
  SELECT coalesce(sum(i.vcpus) FILTER (WHERE i.state <> 'suspended'), 0) AS vcpus,
         coalesce(sum(i.memory_mib) FILTER (WHERE i.state <> 'suspended'), 0) AS memory_mib,
         coalesce(sum(i.disk_gib), 0) AS disk_gib
    INTO used
    FROM instances i
    WHERE i.host_id = NEW.host_id AND i.state NOT IN ('terminating', 'terminated');
  IF h.state <> 'enabled' OR h.heartbeat_at <= statement_timestamp() - make_interval(secs => TG_ARGV[0]::int)
     OR used.vcpus > (h.cpus::bigint * h.cpu_ratio_pct) / 100
     OR used.memory_mib > greatest(0, (h.memory_mib::bigint * h.ram_ratio_pct) / 100 - h.ram_reserve_mib)
     OR used.disk_gib > h.disk_gib THEN
    RAISE EXCEPTION 'host % has no room for instance % now', h.name, NEW.id USING ERRCODE = 'CRPL1', DETAIL = h.name;
  END IF;
  RETURN NULL;
END
$$;
