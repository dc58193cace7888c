import { sql } from 'drizzle-orm';
import type { HostIsolation } from '../hypervisor/types';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  cidr,
  doublePrecision,
  index,
  inet,
  integer,
  date,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

// Every timestamp defaults to the database clock (now()); application code
// never stamps rows with the web server's clock.
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const membershipRole = pgEnum('membership_role', ['owner', 'member', 'viewer']);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Always stored lower-cased and trimmed (see server/accounts/email.ts). */
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    isAdmin: boolean('is_admin').notNull().default(false),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
);

export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    /** Set by an admin: instances stopped, consoles closed, changes refused until reactivated. */
    suspendedAt: timestamp('suspended_at', { withTimezone: true }),
    suspendReason: text('suspend_reason'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tenants_slug_key').on(t.slug)],
);

export const memberships = pgTable(
  'memberships',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: membershipRole('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** SHA-256 of the secret; the secret itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull(),
    /** First characters of the token, to help a user recognise it in a list. */
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_tokens_hash_key').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorUserId: uuid('actor_user_id'),
    /** Who acted, readable even after the user row is gone (e-mail, or "system"). */
    actorLabel: text('actor_label').notNull(),
    tenantId: uuid('tenant_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    outcome: text('outcome', { enum: ['success', 'failure'] }).notNull(),
    requestId: text('request_id'),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_tenant_idx').on(t.tenantId, t.at),
    index('audit_log_actor_idx').on(t.actorUserId, t.at),
  ],
);

/** Platform settings changed by admins at run time (e.g. whether self sign-up is open). */
export const platformSettings = pgTable('platform_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true })
    .notNull()
    .default(sql`now()`),
});

// ---------------------------------------------------------------- compute

export const instanceState = pgEnum('instance_state', [
  'pending',
  'starting',
  'running',
  'stopping',
  'stopped',
  'terminating',
  'terminated',
  'error',
  'suspending',
  'suspended',
  'resuming',
  'restoring',
  'resizing',
]);

/** down: its heartbeat stopped for longer than CIRRUS_HOST_DOWN_AFTER (server/cluster/ha.ts); it is fenced, then its instances recovered. */
export const hostState = pgEnum('host_state', ['enabled', 'maintenance', 'offline', 'down']);

/** A machine that runs guests. The local host registers itself at start (server/hosts). */
export const hosts = pgTable(
  'hosts',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    driver: text('driver').notNull(),
    cpus: integer('cpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    diskGiB: integer('disk_gib').notNull(),
    /** Allocation ratios in hundredths (400 = 4.0 vCPUs per core). */
    cpuRatioPct: integer('cpu_ratio_pct').notNull().default(400),
    ramRatioPct: integer('ram_ratio_pct').notNull().default(100),
    ramReserveMiB: integer('ram_reserve_mib').notNull().default(512),
    acceleration: text('acceleration').notNull(),
    /** How guests' NICs are wired here: Cirrus bridges and taps, or QEMU user-mode where the host cannot create bridges. */
    networkMode: text('network_mode', { enum: ['bridged', 'user'] }).notNull().default('user'),
    /** Why the host falls back to user-mode networking, in words for admins and tenants. */
    networkNote: text('network_note'),
    /** What keeps guests apart on this host (users, cgroups, seccomp, KVM) and what it cannot, as its server found at start. */
    isolation: jsonb('isolation').$type<HostIsolation | null>(),
    state: hostState('state').notNull().default('enabled'),
    /** Where the control plane reaches this host's node channel (host:port, TLS with the cluster key); null before a node ever served one. */
    nodeAddress: text('node_address'),
    /** The shared pool it mounts (the pool's id, the same on every host that does), where auto-recover instances keep their disks; null: none. */
    sharedPool: text('shared_pool'),
    /** When it was declared down (state down), and when its fence said it can run nothing any more (null: not yet). */
    downAt: timestamp('down_at', { withTimezone: true }),
    fencedAt: timestamp('fenced_at', { withTimezone: true }),
    registeredAt: createdAt(),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('hosts_name_key').on(t.name)],
);

/** Images tenants may launch; the files live in the data dir's image catalog. */
export const imageState = pgEnum('image_state', ['creating', 'available', 'deleting', 'deleted', 'error']);

export const images = pgTable('images', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  minMemoryMiB: integer('min_memory_mib').notNull(),
  minDiskGiB: integer('min_disk_gib').notNull(),
  /** Bytes the image's files (kernel, initramfs, base disk) take on the host. */
  sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
  /** The base disk's virtual size: what a guest disk can be no smaller than. */
  virtualSizeBytes: bigint('virtual_size_bytes', { mode: 'number' }).notNull().default(0),
  builtAt: timestamp('built_at', { withTimezone: true }),
  /** What the image is, from its manifest: "debian" and "12", its login user, "x86_64". */
  osFamily: text('os_family').notNull().default('linux'),
  osVersion: text('os_version').notNull().default(''),
  loginUser: text('login_user'),
  architecture: text('architecture').notNull().default('x86_64'),
  minVcpus: integer('min_vcpus').notNull().default(1),
  /** What the guest inside can do: cloud-init (reads the seed), a guest agent, CPU/memory hotplug. */
  features: jsonb('features').$type<ImageFeatures>().notNull().default({ cloudInit: false, guestAgent: false, hotplug: false }),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: createdAt(),
  /**
   * A tenant's image, captured from one of its instances (server/images):
   * visible to that tenant, and to every tenant once an admin publishes it.
   * Built images (captured false) are everyone's.
   */
  captured: boolean('captured').notNull().default(false),
  ownerTenantId: uuid('owner_tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
  published: boolean('published').notNull().default(false),
  state: imageState('state').notNull().default('available'),
  stateReason: text('state_reason'),
  progress: jsonb('progress').$type<{ doneBytes: number; totalBytes: number } | null>(),
  /** Where it was captured from (kept for the record), and the host whose catalog holds its files. */
  sourceInstanceId: text('source_instance_id'),
  sourceSnapshotId: text('source_snapshot_id'),
  hostId: uuid('host_id').references(() => hosts.id),
  createdBy: uuid('created_by'),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
}, (t) => [index('images_owner_idx').on(t.ownerTenantId).where(sql`${t.ownerTenantId} is not null`)]);

export interface ImageFeatures {
  cloudInit: boolean;
  guestAgent: boolean;
  hotplug: boolean;
}

/** Admin-defined size presets. */
export const flavors = pgTable(
  'flavors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    vcpus: integer('vcpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    diskGiB: integer('disk_gib').notNull(),
    nics: integer('nics').notNull(),
    /** Each NIC's rate in Mbit/s when a launch from this flavor does not choose one. */
    bandwidthMbit: integer('bandwidth_mbit').notNull().default(100),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('flavors_name_key').on(t.name)],
);

/** Per-tenant limits. The launch transaction locks this row: it is the quota's mutex. */
export const tenantQuotas = pgTable('tenant_quotas', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  instances: integer('instances').notNull(),
  vcpus: integer('vcpus').notNull(),
  memoryMiB: integer('memory_mib').notNull(),
  diskGiB: integer('disk_gib').notNull(),
  nics: integer('nics').notNull(),
  networks: integer('networks').notNull().default(5),
  bandwidthMbit: integer('bandwidth_mbit').notNull().default(2_000),
  portForwards: integer('port_forwards').notNull().default(10),
  savedStateMiB: integer('saved_state_mib').notNull().default(16_384),
  snapshots: integer('snapshots').notNull().default(20),
  snapshotGiB: integer('snapshot_gib').notNull().default(100),
  volumes: integer('volumes').notNull().default(20),
  volumeGiB: integer('volume_gib').notNull().default(500),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const instances = pgTable(
  'instances',
  {
    /** EC2-style: `i-` and 17 hex digits. */
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    imageId: text('image_id')
      .notNull()
      .references(() => images.id),
    vcpus: integer('vcpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    diskGiB: integer('disk_gib').notNull(),
    nics: integer('nics').notNull(),
    tags: jsonb('tags').$type<Record<string, string>>().notNull().default({}),
    hostId: uuid('host_id').references(() => hosts.id),
    /** Anti-affinity: instances of a tenant with the same spread group run on different hosts (null: no group). */
    spreadGroup: text('spread_group'),
    /** High availability: its disk is on the shared pool, and when its host goes down it restarts on another (server/cluster/ha.ts). */
    autoRecover: boolean('auto_recover').notNull().default(false),
    /** While it waits to be recovered (its host down, not yet fenced): the state it goes back to on its new host. */
    recoverTo: instanceState('recover_to'),
    /** While it moves to another host (instance_migrations): that host, whose room it holds too until the move ends. */
    migrationHostId: uuid('migration_host_id').references(() => hosts.id),
    state: instanceState('state').notNull().default('pending'),
    /** Why it is in this state, when that needs saying (error, stopped by a crash, …). */
    stateReason: text('state_reason'),
    stateChangedAt: timestamp('state_changed_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    launchedAt: timestamp('launched_at', { withTimezone: true }),
    terminatedAt: timestamp('terminated_at', { withTimezone: true }),
    /**
     * The key pair it was launched with, copied: deleting the pair later does
     * not change what the instance was given (its name stays for the record).
     */
    keyName: text('key_name'),
    sshPublicKey: text('ssh_public_key'),
    /** Cloud-config or a script, ≤ 16 KiB of UTF-8, handed to cloud-init in the seed. */
    userData: text('user_data'),
    /** The size of its saved running state (suspended to disk), MiB; null when it has none. */
    savedStateMiB: integer('saved_state_mib'),
    /** How far the long operation it is in has come (suspend, resume): null when none runs. */
    progress: jsonb('progress').$type<{ doneBytes: number; totalBytes: number } | null>(),
    /**
     * A clone's origin: the instance (and its snapshot, or null for its disk
     * at the time) it was copied from, and whether its disk reads the
     * source's (linked) or is a copy of its own (full). Kept after it is made,
     * for the record; null for an instance launched from an image.
     */
    cloneOfInstanceId: text('clone_of_instance_id').references((): AnyPgColumn => instances.id, { onDelete: 'set null' }),
    cloneOfSnapshotId: text('clone_of_snapshot_id'),
    cloneLinked: boolean('clone_linked'),
    /** How far vCPUs and memory can be hot-added while it runs (chosen at launch, changed while stopped); null: its size. */
    maxVcpus: integer('max_vcpus'),
    maxMemoryMiB: integer('max_memory_mib'),
    /**
     * While `resizing`: the state it goes back to and the size it had (its
     * columns already hold the size asked for, so quotas count it; the ledger
     * follows when the driver has granted it).
     */
    resize: jsonb('resize').$type<{ back: 'running' | 'stopped'; was: { vcpus: number; memoryMiB: number; diskGiB: number; nics?: number } } | null>(),
  },
  (t) => [
    index('instances_clone_of_idx').on(t.cloneOfInstanceId).where(sql`${t.cloneOfInstanceId} is not null`),
    index('instances_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('instances_tenant_state_idx').on(t.tenantId, t.state),
    index('instances_host_state_idx').on(t.hostId, t.state),
    index('instances_spread_group_idx').on(t.tenantId, t.spreadGroup).where(sql`${t.spreadGroup} is not null`),
    index('instances_migration_host_idx').on(t.migrationHostId).where(sql`${t.migrationHostId} is not null`),
  ],
);

/** A move of a running instance to another host, from the request to its end. */
export const migrationState = pgEnum('migration_state', ['queued', 'preparing', 'copying', 'switching', 'completed', 'failed']);

export const instanceMigrations = pgTable(
  'instance_migrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    sourceHostId: uuid('source_host_id')
      .notNull()
      .references(() => hosts.id),
    targetHostId: uuid('target_host_id')
      .notNull()
      .references(() => hosts.id),
    state: migrationState('state').notNull().default('queued'),
    /** live: a running instance, its memory and disk copied while it runs; cold: a stopped one, its disk copied whole. */
    kind: text('kind', { enum: ['live', 'cold'] }).notNull().default('live'),
    /** Why it moves: an admin asked, or its host is being evacuated. */
    reason: text('reason', { enum: ['admin', 'evacuation'] }).notNull(),
    requestedBy: text('requested_by').notNull(),
    /** How far the copy has come: the disk first, then memory. */
    progress: jsonb('progress').$type<{ phase: 'disk' | 'memory'; doneBytes: number; totalBytes: number } | null>(),
    /** How long the guest was stopped for the switch, ms (once completed). */
    downtimeMs: integer('downtime_ms'),
    error: text('error'),
    /** An admin asked to stop it (and who): the source's node cancels the copy, and the instance runs on where it was. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    cancelledBy: text('cancelled_by'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    // One move at a time per instance.
    uniqueIndex('instance_migrations_active_key').on(t.instanceId).where(sql`${t.state} in ('queued', 'preparing', 'copying', 'switching')`),
    index('instance_migrations_source_idx').on(t.sourceHostId, t.createdAt),
    index('instance_migrations_instance_idx').on(t.instanceId, t.createdAt),
  ],
);

/** Every change of an instance: who or what did it, when, and why. */
export const instanceEvents = pgTable(
  'instance_events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorUserId: uuid('actor_user_id'),
    actorLabel: text('actor_label').notNull(),
    action: text('action').notNull(),
    fromState: instanceState('from_state'),
    toState: instanceState('to_state'),
    message: text('message'),
  },
  (t) => [index('instance_events_instance_idx').on(t.instanceId, t.at)],
);

// ---------------------------------------------------------------- consoles

/** Short-lived, single-use permission to open one console session. Only the hash of the secret is kept. */
export const consoleTickets = pgTable(
  'console_tickets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['vnc', 'serial'] }).notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('console_tickets_hash_key').on(t.tokenHash), index('console_tickets_expires_idx').on(t.expiresAt)],
);

// ---------------------------------------------------------------- metering

export const usageResource = pgEnum('usage_resource', ['vcpu', 'memory_mib', 'disk_gib', 'nic', 'bandwidth_mbit', 'port_forward', 'saved_state_mib', 'snapshot_mib', 'image_mib', 'volume_gib', 'volume_iops', 'volume_mbps']);

/**
 * The usage ledger: one segment per (instance, resource) span of use — or,
 * for a tenant's captured image, per (image, resource) — opened and closed in
 * the transaction of the change that starts or stops the use, on the
 * database clock. Invoices are sums over segments, never counters.
 */
export const usageSegments = pgTable(
  'usage_segments',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    instanceId: text('instance_id').references(() => instances.id, { onDelete: 'cascade' }),
    imageId: text('image_id').references(() => images.id, { onDelete: 'cascade' }),
    volumeId: text('volume_id').references(() => volumes.id, { onDelete: 'cascade' }),
    resource: usageResource('resource').notNull(),
    /** vCPUs, MiB of memory, GiB of disk, NICs, Mbit/s of NIC rate or port forwards held during the segment. */
    quantity: integer('quantity').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    /**
     * An open segment's part before this instant (a UTC midnight) is already in
     * usage_daily (checkpointOpenUsage): invoices price only the rest live.
     */
    billedThrough: timestamp('billed_through', { withTimezone: true }),
  },
  (t) => [
    index('usage_segments_tenant_time_idx').on(t.tenantId, t.startedAt),
    index('usage_segments_instance_idx').on(t.instanceId, t.resource),
    // The open segments, which invoices price live.
    index('usage_segments_open_idx').on(t.tenantId).where(sql`ended_at is null`),
    // At most one open segment per instance (or image) and resource.
    uniqueIndex('usage_segments_one_open_key').on(t.instanceId, t.resource).where(sql`ended_at is null`),
    uniqueIndex('usage_segments_image_open_key').on(t.imageId, t.resource).where(sql`ended_at is null`),
    uniqueIndex('usage_segments_volume_open_key').on(t.volumeId, t.resource).where(sql`ended_at is null`),
    check('usage_segments_one_subject', sql`num_nonnulls(${t.instanceId}, ${t.imageId}, ${t.volumeId}) = 1`),
  ],
);

/** What the ledger's sums key on: the tenant, the subject (instance, image or volume) and the resource. */
const usageSubjectColumns = () => ({
  tenantId: uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  // No foreign keys to the subjects: a deleted subject's segments go with it, and the delete trigger takes their sums out.
  instanceId: text('instance_id'),
  imageId: text('image_id'),
  volumeId: text('volume_id'),
  resource: usageResource('resource').notNull(),
});
/** What they sum: quantity × seconds, exact (seconds to the microsecond); seconds; and how many segment parts (the row goes when it reaches 0). */
const usageSumColumns = () => ({
  unitSeconds: numeric('unit_seconds').notNull(),
  seconds: numeric('seconds').notNull(),
  parts: integer('parts').notNull(),
});

/**
 * Sums of the closed ledger, and of the open segments up to their
 * billed_through. Maintained by triggers in the transaction that writes
 * usage_segments (drizzle/0019_usage_daily.sql, 0020_usage_monthly_priced.sql)
 * and re-derived from the segments when a price version is added, moved,
 * removed or repriced, so they are always exactly the ledger's. Invoices read
 * them plus the open segments since billed_through, live (server/billing/charges.ts).
 *
 * usage_daily: per subject, resource, UTC day and price version.
 */
export const usageDaily = pgTable(
  'usage_daily',
  {
    ...usageSubjectColumns(),
    day: date('day', { mode: 'string' }).notNull(),
    priceVersionId: uuid('price_version_id')
      .notNull()
      .references(() => priceVersions.id, { onDelete: 'cascade' }),
    ...usageSumColumns(),
  },
  (t) => [
    unique('usage_daily_key').on(t.tenantId, t.day, t.resource, t.priceVersionId, t.instanceId, t.imageId, t.volumeId).nullsNotDistinct(),
    // Rows summing to nothing, deleted as soon as they are made: kept tiny.
    index('usage_daily_empty_idx').on(t.tenantId).where(sql`parts = 0`),
  ],
);

/**
 * Per subject, resource and month (its first day), priced: a whole month's
 * invoice line is round(priced ÷ usage_divisor(resource)) of its row, plus
 * what open segments add — a row per line, nothing to join or group.
 */
export const usageMonthly = pgTable(
  'usage_monthly',
  {
    ...usageSubjectColumns(),
    month: date('month', { mode: 'string' }).notNull(),
    ...usageSumColumns(),
    /** Σ unit-seconds × the price per priced unit-hour of each part's price version, exact; re-derived on a price change. */
    priced: numeric('priced').notNull(),
  },
  (t) => [
    unique('usage_monthly_key').on(t.tenantId, t.month, t.resource, t.instanceId, t.imageId, t.volumeId).nullsNotDistinct(),
    index('usage_monthly_empty_idx').on(t.tenantId).where(sql`parts = 0`),
  ],
);

/**
 * Per tenant and UTC day: the sum of its usage_daily line-days (subject and
 * resource) each priced and rounded as an invoice line is, and how many there
 * are. Kept by the same triggers, and re-derived on any price version change
 * (it bakes prices in): daily costs read a row per day, plus the line-days the
 * open segments touch, live.
 */
export const usageDayTotals = pgTable(
  'usage_day_totals',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    amount: numeric('amount').notNull(),
    lines: integer('lines').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day] })],
);

/**
 * The price book: each version applies from `effective_from` until the next
 * one, so a change never rewrites the past. Prices are integer micro-units of
 * `currency` per unit-hour (vCPU-hour, GiB-of-RAM-hour, GiB-of-disk-hour, NIC-hour).
 */
export const priceVersions = pgTable(
  'price_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    effectiveFrom: timestamp('effective_from', { withTimezone: true }).notNull(),
    currency: text('currency').notNull(),
    vcpuHour: bigint('vcpu_hour', { mode: 'number' }).notNull(),
    memoryGiBHour: bigint('memory_gib_hour', { mode: 'number' }).notNull(),
    diskGiBHour: bigint('disk_gib_hour', { mode: 'number' }).notNull(),
    nicHour: bigint('nic_hour', { mode: 'number' }).notNull(),
    /** Per Mbit/s of NIC rate per hour, while the instance runs. */
    bandwidthMbitHour: bigint('bandwidth_mbit_hour', { mode: 'number' }).notNull().default(40),
    portForwardHour: bigint('port_forward_hour', { mode: 'number' }).notNull().default(5_000),
    /** Per GiB of saved running state (a suspended instance's state file) per hour. */
    savedStateGiBHour: bigint('saved_state_gib_hour', { mode: 'number' }).notNull().default(137),
    /** Per GiB of snapshot storage (its bytes really allocated) per hour. */
    snapshotGiBHour: bigint('snapshot_gib_hour', { mode: 'number' }).notNull().default(68),
    imageGiBHour: bigint('image_gib_hour', { mode: 'number' }).notNull().default(68),
    /** Per GiB of volume (its provisioned size) per hour, and per IOPS and MB/s provisioned above the baseline every volume has. */
    volumeGiBHour: bigint('volume_gib_hour', { mode: 'number' }).notNull().default(110),
    volumeIopsHour: bigint('volume_iops_hour', { mode: 'number' }).notNull().default(7),
    volumeMbpsHour: bigint('volume_mbps_hour', { mode: 'number' }).notNull().default(55),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('price_versions_effective_key').on(t.effectiveFrom)],
);

/** A tenant's monthly budget (integer micro-units); with `hardCap`, reaching it stops instances and launches. */
export const tenantBudgets = pgTable('tenant_budgets', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  monthlyMicro: bigint('monthly_micro', { mode: 'number' }).notNull(),
  hardCap: boolean('hard_cap').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const quotaRequestStatus = pgEnum('quota_request_status', ['pending', 'approved', 'denied']);

/** A tenant owner asks for a new limit; an admin approves (the limit changes in the same transaction) or denies. */
export const quotaRequests = pgTable(
  'quota_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    resource: text('resource', { enum: ['instances', 'vcpus', 'memoryMiB', 'diskGiB', 'nics', 'networks', 'bandwidthMbit', 'portForwards', 'savedStateMiB', 'snapshots', 'snapshotGiB', 'volumes', 'volumeGiB'] }).notNull(),
    requestedLimit: integer('requested_limit').notNull(),
    limitAtRequest: integer('limit_at_request').notNull(),
    reason: text('reason').notNull(),
    status: quotaRequestStatus('status').notNull().default('pending'),
    requestedBy: uuid('requested_by'),
    decidedBy: uuid('decided_by'),
    comment: text('comment'),
    createdAt: createdAt(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (t) => [index('quota_requests_tenant_idx').on(t.tenantId, t.createdAt), index('quota_requests_status_idx').on(t.status, t.createdAt)],
);

// ---------------------------------------------------------------- networks

/**
 * A tenant's private L2 network (VPC-like). Deleting one keeps the row (the
 * NICs of terminated instances still name it); overlapping live CIDRs within
 * a tenant are refused by an exclusion constraint (migration 0008).
 */
export const networks = pgTable(
  'networks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    cidr: cidr('cidr').notNull(),
    /** The first usable address; Cirrus's router and DHCP server answer there. */
    gateway: inet('gateway').notNull(),
    /** Every tenant has exactly one; it cannot be deleted. */
    isDefault: boolean('is_default').notNull().default(false),
    /** The VXLAN network id that joins this network's bridges on several hosts (24 bits). */
    vxlanId: integer('vxlan_id').notNull().generatedAlwaysAsIdentity({ startWith: 4096, maxValue: 16_777_215 }),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('networks_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`).where(sql`deleted_at is null`),
    uniqueIndex('networks_one_default_key').on(t.tenantId).where(sql`is_default and deleted_at is null`),
    uniqueIndex('networks_vxlan_key').on(t.vxlanId),
  ],
);

/**
 * One NIC of an instance: its network, fixed address (IPAM) and MAC, and its
 * rate. The unique (network, address) index is the IPAM guarantee: no two live
 * NICs share an address under any concurrency. The address is cleared when the
 * instance's terminate is accepted (released), the row stays for the record.
 */
export const networkInterfaces = pgTable(
  'network_interfaces',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    networkId: uuid('network_id')
      .notNull()
      .references(() => networks.id),
    /** 0 for eth0, 1 for eth1, … */
    position: integer('position').notNull(),
    mac: text('mac').notNull(),
    address: inet('address'),
    rateMbit: integer('rate_mbit').notNull(),
    /** How the guest's NIC is wired, decided when the guest is created on its host. */
    mode: text('mode', { enum: ['bridged', 'user'] }).notNull().default('bridged'),
    createdAt: createdAt(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('network_interfaces_position_key').on(t.instanceId, t.position),
    uniqueIndex('network_interfaces_address_key').on(t.networkId, t.address),
    uniqueIndex('network_interfaces_live_mac_key').on(t.mac).where(sql`released_at is null`),
    index('network_interfaces_network_idx').on(t.networkId).where(sql`released_at is null`),
    index('network_interfaces_tenant_idx').on(t.tenantId).where(sql`released_at is null`),
  ],
);

/** A host port that reaches `instance:port` over TCP. Removed with its instance. */
export const portForwards = pgTable(
  'port_forwards',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull(),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    interfaceId: uuid('interface_id')
      .notNull()
      .references(() => networkInterfaces.id, { onDelete: 'cascade' }),
    hostId: uuid('host_id')
      .notNull()
      .references(() => hosts.id),
    hostPort: integer('host_port').notNull(),
    guestPort: integer('guest_port').notNull(),
    protocol: text('protocol', { enum: ['tcp'] }).notNull().default('tcp'),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('port_forwards_host_port_key').on(t.hostId, t.hostPort), index('port_forwards_instance_idx').on(t.instanceId)],
);

/**
 * Where a network is realised: a host that runs NICs of it has its bridge,
 * router namespace and DHCP server, and a transit slot (its router's address
 * on the host's side). Written by that host's network reconciler.
 */
export const networkHosts = pgTable(
  'network_hosts',
  {
    networkId: uuid('network_id')
      .notNull()
      .references(() => networks.id, { onDelete: 'cascade' }),
    hostId: uuid('host_id')
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    slot: integer('slot').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.networkId, t.hostId] }), uniqueIndex('network_hosts_slot_key').on(t.hostId, t.slot)],
);

/**
 * A tenant's SSH public key (EC2's key pair). Only the public half is kept;
 * a pair Cirrus generates hands its private key over once and forgets it.
 */
export const keyPairs = pgTable(
  'key_pairs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** 'ed25519' | 'ecdsa' | 'rsa' */
    keyType: text('key_type').notNull(),
    bits: integer('bits').notNull(),
    /** One OpenSSH line: `<type> <base64> [comment]`, re-serialised from the parsed key. */
    publicKey: text('public_key').notNull(),
    /** `SHA256:<base64>`, as ssh-keygen -l prints it. */
    fingerprint: text('fingerprint').notNull(),
    /** Whether Cirrus generated it (its private key was downloaded once). */
    generated: boolean('generated').notNull().default(false),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('key_pairs_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`),
    index('key_pairs_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
  ],
);

// ---------------------------------------------------------------- snapshots

export const snapshotState = pgEnum('snapshot_state', ['creating', 'available', 'restoring', 'deleting', 'error']);

/**
 * A point in time of an instance: its disk, and with memory its running
 * state. Only an `available` one can be restored or cloned; one that a crash
 * cut short is never listed as available.
 */
export const snapshots = pgTable(
  'snapshots',
  {
    /** EC2-style: `snap-` and 17 hex digits; also the driver's name for it. */
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    withMemory: boolean('with_memory').notNull(),
    /** The instance's vCPUs and memory when it was taken: a memory snapshot loads only into that size. */
    vcpus: integer('vcpus'),
    memoryMiB: integer('memory_mib'),
    state: snapshotState('state').notNull().default('creating'),
    stateReason: text('state_reason'),
    /** Bytes its files really take on the host (disk and memory state), once taken. */
    diskBytes: bigint('disk_bytes', { mode: 'number' }).notNull().default(0),
    stateBytes: bigint('state_bytes', { mode: 'number' }).notNull().default(0),
    /** How far taking, restoring or deleting it has come (QMP's migration or block-job status); null when nothing runs. */
    progress: jsonb('progress').$type<{ doneBytes: number; totalBytes: number } | null>(),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [
    index('snapshots_instance_created_idx').on(t.instanceId, t.createdAt, t.id),
    index('snapshots_tenant_idx').on(t.tenantId),
    uniqueIndex('snapshots_instance_name_key').on(t.instanceId, sql`lower(${t.name})`),
  ],
);

// ---------------------------------------------------------------- storage

/**
 * Where a host keeps volumes. `kind` picks the backend
 * (server/hypervisor/storage); a directory pool's `path` is its directory.
 * `capacityBytes` is what may be handed out (sizes as provisioned); every
 * allocation checks it under this row's lock.
 */
export const storagePools = pgTable(
  'storage_pools',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    kind: text('kind', { enum: ['directory'] }).notNull(),
    hostId: uuid('host_id')
      .notNull()
      .references(() => hosts.id),
    path: text('path').notNull(),
    capacityBytes: bigint('capacity_bytes', { mode: 'number' }).notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('storage_pools_name_key').on(t.name), uniqueIndex('storage_pools_host_path_key').on(t.hostId, t.path)],
);

export const volumeState = pgEnum('volume_state', ['creating', 'available', 'attaching', 'in-use', 'detaching', 'deleting', 'deleted', 'error']);

/**
 * A tenant's block volume (EBS-like): made in a pool, attached to at most
 * one instance at a time (`instanceId` while attaching, in use and
 * detaching), outliving it. Its I/O ceiling is `iops` and `mbps`.
 */
export const volumes = pgTable(
  'volumes',
  {
    /** EC2-style: `vol-` and 17 hex digits; also the pool's name for it. */
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sizeGiB: integer('size_gib').notNull(),
    iops: integer('iops').notNull(),
    mbps: integer('mbps').notNull(),
    poolId: uuid('pool_id')
      .notNull()
      .references(() => storagePools.id),
    state: volumeState('state').notNull().default('creating'),
    stateReason: text('state_reason'),
    progress: jsonb('progress').$type<{ doneBytes: number; totalBytes: number } | null>(),
    instanceId: text('instance_id').references(() => instances.id, { onDelete: 'set null' }),
    /** The snapshot (and its instance) it was made from; null: blank. */
    sourceSnapshotId: text('source_snapshot_id'),
    sourceInstanceId: text('source_instance_id'),
    allocatedBytes: bigint('allocated_bytes', { mode: 'number' }).notNull().default(0),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    attachedAt: timestamp('attached_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('volumes_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('volumes_instance_idx').on(t.instanceId),
    index('volumes_pool_idx').on(t.poolId),
    uniqueIndex('volumes_tenant_name_key').on(t.tenantId, sql`lower(${t.name})`).where(sql`state <> 'deleted'`),
  ],
);

// ---------------------------------------------------------------- access keys (the EC2 API)

/**
 * An AWS-style access key a user made for one tenant: the EC2 Query API
 * (server/ec2) verifies Signature Version 4 with it, which needs the secret
 * itself, so the secret is kept sealed (AES-256-GCM under a key in the data
 * dir's secrets), never in the clear, and shown to the user once.
 * A request made with it acts as the user, with their role in the tenant at
 * the time of the request.
 */
export const accessKeys = pgTable(
  'access_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** `AKCR` and 16 characters of base32: what a client sends in its Credential. */
    accessKeyId: text('access_key_id').notNull(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** base64url of iv (12) ‖ tag (16) ‖ ciphertext. */
    sealedSecret: text('sealed_secret').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('access_keys_key_id_key').on(t.accessKeyId), index('access_keys_tenant_user_idx').on(t.tenantId, t.userId, t.createdAt)],
);

// ---------------------------------------------------------------- monitoring (server/metrics/monitoring*)

/**
 * How fine a guest monitoring sample is: `raw` as the sampler read it (every
 * CIRRUS_SAMPLE_SECONDS), `1m` and `15m` averages of it (server/metrics/monitoring-tiers.ts
 * says how long each is kept and which chart range reads which).
 */
export const sampleTier = pgEnum('sample_tier', ['raw', '1m', '15m']);

/**
 * What a guest used, per instance and tier: rates from the driver's cumulative
 * counters between two readings, stamped with the database clock. A rolled-up
 * row stands for `samples` raw ones (its averages are weighted by it, so a
 * coarser tier made of a finer one is exactly the average of the raw rows).
 * Kept after the instance is terminated, until its tier's retention.
 */
export const instanceSamples = pgTable(
  'instance_samples',
  {
    instanceId: text('instance_id')
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    tier: sampleTier('tier').notNull(),
    /** Raw: when it was written; rolled up: the start of its bucket. */
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    samples: integer('samples').notNull().default(1),
    /** Of the instance's vCPUs (100: all of them busy); the mean, and the highest raw sample. */
    cpuPct: doublePrecision('cpu_pct').notNull(),
    cpuPctMax: doublePrecision('cpu_pct_max').notNull(),
    /** Memory given to the guest, and what its host process holds (resident). */
    memoryTotalBytes: doublePrecision('memory_total_bytes').notNull(),
    memoryResidentBytes: doublePrecision('memory_resident_bytes').notNull(),
    diskReadBps: doublePrecision('disk_read_bps').notNull(),
    diskWriteBps: doublePrecision('disk_write_bps').notNull(),
    /** Bytes per second in the guest's terms (rx: what it received); null where the host cannot see its NICs (user-mode). */
    netRxBps: doublePrecision('net_rx_bps'),
    netTxBps: doublePrecision('net_tx_bps'),
  },
  (t) => [
    // One instance, one tier, a time range: the charts' read, and the rollups' upsert target.
    primaryKey({ columns: [t.instanceId, t.tier, t.at] }),
    // Retention deletes the oldest rows of a tier across instances.
    index('instance_samples_tier_at_idx').on(t.tier, t.at),
  ],
);
