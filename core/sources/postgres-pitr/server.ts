import type { Client } from 'pg';
import { BackupError } from '../../errors';
import { describeConnection, type PostgresConnection } from '../postgres';
import type { PitrSourceFacts, SlotReport } from './manifest';

/** What the source server says about itself and the backup role, read over an ordinary connection. */
export interface ServerState {
	serverVersion: string;
	serverVersionNum: number;
	major: number;
	systemIdentifier: string;
	/** The timeline the server writes WAL on now. */
	timeline: number;
	walSegmentBytes: number;
	walLevel: string;
	maxWalSenders: number;
	maxReplicationSlots: number;
	/** -1 = unlimited. */
	maxSlotWalKeepBytes: number;
	inRecovery: boolean;
	superuser: boolean;
	replication: boolean;
	bootstrapSuperuser: string;
	encoding: string;
	collation: string;
	ctype: string;
	databaseBytes: number;
	extensions: Array<{ name: string; version: string }>;
}

export async function readServerState(client: Client): Promise<ServerState> {
	const { rows } = await client.query<Record<string, string | boolean>>(
		`SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
		        (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
		        pg_is_in_recovery() AS in_recovery,
		        (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS seg,
		        current_setting('wal_level') AS wal_level,
		        current_setting('max_wal_senders') AS senders,
		        current_setting('max_replication_slots') AS slots,
		        (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_mb,
		        r.rolsuper AS superuser, r.rolreplication AS replication,
		        (SELECT rolname FROM pg_roles WHERE oid = 10) AS bootstrap,
		        pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collation, d.datctype AS ctype,
		        pg_database_size(d.oid)::text AS bytes
		   FROM pg_roles r, pg_database d
		  WHERE r.rolname = current_user AND d.datname = current_database()`,
	);
	const r = rows[0];
	const inRecovery = r.in_recovery === true;
	// pg_walfile_name() names the segment being written, timeline first; it is refused on a standby.
	const timeline = inRecovery
		? 0
		: parseInt(
				(await client.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0].f.slice(0, 8),
				16,
			);
	const extensions = await client.query<{ name: string; version: string }>(
		'SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY extname',
	);
	const num = Number(r.num);
	return {
		serverVersion: String(r.version).split(' ')[0],
		serverVersionNum: num,
		major: Math.floor(num / 10000),
		systemIdentifier: String(r.sysid),
		timeline,
		walSegmentBytes: Number(r.seg),
		walLevel: String(r.wal_level),
		maxWalSenders: Number(r.senders),
		maxReplicationSlots: Number(r.slots),
		maxSlotWalKeepBytes: Number(r.keep_mb) < 0 ? -1 : Number(r.keep_mb) * 1024 * 1024,
		inRecovery,
		superuser: r.superuser === true,
		replication: r.replication === true,
		bootstrapSuperuser: String(r.bootstrap),
		encoding: String(r.encoding),
		collation: String(r.collation),
		ctype: String(r.ctype),
		databaseBytes: Number(r.bytes),
		extensions: extensions.rows,
	};
}

export interface PreflightProblem {
	check: string;
	message: string;
	hint: string;
}

/**
 * The server-side requirements of point-in-time backups, each with its fix. Empty when all
 * hold. (pg_hba.conf cannot be read by an ordinary role: a replication connection proves it,
 * see probeReplication.)
 */
export function serverProblems(state: ServerState, connection: PostgresConnection): PreflightProblem[] {
	const problems: PreflightProblem[] = [];
	if (state.major < 15)
		problems.push({
			check: 'server version',
			message: `PostgreSQL ${state.serverVersion} is older than 15, the oldest this engine supports`,
			hint: 'Use logical dumps (the PostgreSQL source) for this server, or upgrade it.',
		});
	if (state.inRecovery)
		problems.push({
			check: 'primary',
			message: `${connection.host}:${connection.port} is a standby (in recovery)`,
			hint: 'Point the backup at the primary server: a chain follows the primary timeline.',
		});
	if (!['replica', 'logical'].includes(state.walLevel))
		problems.push({
			check: 'wal_level',
			message: `wal_level is "${state.walLevel}"; point-in-time recovery needs "replica" or "logical"`,
			hint: "Set wal_level = 'replica' in postgresql.conf (or ALTER SYSTEM SET wal_level = 'replica') and restart PostgreSQL.",
		});
	if (state.maxWalSenders < 1)
		problems.push({
			check: 'max_wal_senders',
			message: 'max_wal_senders is 0: the server accepts no replication connection',
			hint: 'Set max_wal_senders = 10 (the default) and restart PostgreSQL.',
		});
	if (state.maxReplicationSlots < 1)
		problems.push({
			check: 'max_replication_slots',
			message: 'max_replication_slots is 0: the server can keep no replication slot',
			hint: 'Set max_replication_slots = 10 (the default) and restart PostgreSQL.',
		});
	if (!state.superuser && !state.replication)
		problems.push({
			check: 'REPLICATION',
			message: `Role "${connection.user}" has neither REPLICATION nor SUPERUSER`,
			hint: `ALTER ROLE "${connection.user}" REPLICATION; and for the inventory's row counts GRANT pg_read_all_data TO "${connection.user}";`,
		});
	return problems;
}

/** Refuses to start a backup on a server that fails a requirement, naming every fix. */
export function requireServerReady(state: ServerState, connection: PostgresConnection): void {
	const problems = serverProblems(state, connection);
	if (!problems.length) return;
	throw new BackupError(
		'UNSUPPORTED_OPTION',
		`${describeConnection(connection)} is not ready for point-in-time backups: ${problems.map((p) => p.message).join('; ')}`,
		problems.map((p) => p.hint).join(' '),
	);
}

/** Facts for the manifest, from the server state and the tool that made the set. */
export function sourceFacts(
	state: ServerState,
	connection: PostgresConnection,
	slotName: string,
	clientVersion: string,
): PitrSourceFacts {
	return {
		host: connection.host,
		port: connection.port,
		database: connection.database,
		user: connection.user,
		serverVersion: state.serverVersion,
		serverVersionNum: state.serverVersionNum,
		systemIdentifier: state.systemIdentifier,
		walSegmentBytes: state.walSegmentBytes,
		encoding: state.encoding,
		collation: state.collation,
		ctype: state.ctype,
		extensions: state.extensions,
		databaseBytes: state.databaseBytes,
		bootstrapSuperuser: state.bootstrapSuperuser,
		slotName,
		clientVersion,
	};
}

/**
 * Server clock and WAL position read together: the end of an incremental and its time. The
 * insert position, not the write position (pg_current_wal_lsn): with synchronous_commit off a
 * committed transaction may not be written yet, and it belongs to this run.
 */
export async function currentPosition(client: Client): Promise<{ lsn: string; at: string }> {
	const { rows } = await client.query<{ lsn: string; at: Date }>(
		'SELECT pg_current_wal_insert_lsn()::text AS lsn, clock_timestamp() AS at',
	);
	return { lsn: rows[0].lsn, at: rows[0].at.toISOString() };
}

export async function serverClock(client: Client): Promise<string> {
	const { rows } = await client.query<{ at: Date }>('SELECT clock_timestamp() AS at');
	return rows[0].at.toISOString();
}

// ---------------------------------------------------------------------------------------------
// The replication slot

/**
 * The slot of an environment: `totvs_<environment>`, lower case, other characters as "_"
 * (slot names allow [a-z0-9_] only, up to 63 characters).
 */
export function slotNameFor(environment: string): string {
	return `totvs_${environment.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** Default warning threshold for WAL a slot keeps on the server. */
export const DEFAULT_SLOT_WARN_BYTES = 1024 ** 3;

export async function readSlot(
	client: Client,
	slotName: string,
	warnAboveBytes = DEFAULT_SLOT_WARN_BYTES,
): Promise<SlotReport> {
	const { rows } = await client.query<{
		active: boolean;
		restart_lsn: string | null;
		wal_status: string | null;
		retained: string | null;
		safe: string | null;
		slot_type: string;
	}>(
		`SELECT active, restart_lsn::text, wal_status, slot_type,
		        pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained, safe_wal_size::text AS safe
		   FROM pg_replication_slots WHERE slot_name = $1`,
		[slotName],
	);
	if (!rows.length)
		return {
			slotName,
			exists: false,
			active: false,
			restartLsn: null,
			walStatus: null,
			retainedBytes: 0,
			safeWalSizeBytes: null,
			warnAboveBytes,
			warning: null,
		};
	const r = rows[0];
	if (r.slot_type !== 'physical')
		throw new BackupError(
			'INVALID_INPUT',
			`Replication slot "${slotName}" exists but is a ${r.slot_type} slot`,
			'Drop it (it is not ours) or choose another environment name or slot name.',
		);
	const retainedBytes = Number(r.retained ?? 0);
	const safe = r.safe === null ? null : Number(r.safe);
	const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
	const warning =
		r.wal_status === 'lost'
			? `Replication slot "${slotName}" lost WAL the chain needs (max_slot_wal_keep_size was exceeded): the next backup must be a full.`
			: r.wal_status === 'unreserved'
				? `Replication slot "${slotName}" is about to lose WAL (wal_status unreserved): run the incremental now, or the chain breaks.`
				: retainedBytes > warnAboveBytes
					? `Replication slot "${slotName}" keeps ${gib(retainedBytes)} of WAL on the database server (warning above ${gib(warnAboveBytes)}): if the incremental runs stopped, the server's disk fills up. Run the incremental, or drop the slot if point-in-time backups of this environment were given up.`
					: null;
	return {
		slotName,
		exists: true,
		active: r.active,
		restartLsn: r.restart_lsn,
		walStatus: r.wal_status,
		retainedBytes,
		safeWalSizeBytes: safe,
		warnAboveBytes,
		warning,
	};
}
