import type { Client } from 'pg';
import { BackupError, systemErrorCode } from '../../errors';
import { connect, type PostgresConnection } from './connection';

/** SQLSTATE of "canceling statement due to lock timeout" (lock_not_available). */
const LOCK_NOT_AVAILABLE = '55P03';

/** pg_dump's words when it gave up on a table lock (main process, or a -j worker's NOWAIT lock). */
export const isPgDumpLockFailure = (stderr: string) =>
	/could not obtain lock on relation|canceling statement due to lock timeout/i.test(stderr);

export const isLockTimeout = (error: unknown) => systemErrorCode(error) === LOCK_NOT_AVAILABLE;

/** pg_dump's `--lock-wait-timeout` (milliseconds); none when 0, which waits forever. */
export const lockWaitArguments = (seconds: number) =>
	seconds > 0 ? [`--lock-wait-timeout=${Math.max(1, Math.round(seconds * 1000))}`] : [];

/** Our own session waits no longer than pg_dump: the pre-flight and inventory lock tables too. */
export async function limitLockWait(client: Client, seconds: number): Promise<void> {
	if (seconds > 0) await client.query(`SET lock_timeout = ${Math.max(1, Math.round(seconds * 1000))}`);
}

interface Holder {
	pid: number;
	application_name: string | null;
	usename: string | null;
	state: string | null;
	query_start: Date | null;
	relation: string;
	granted: boolean;
}

/**
 * Sessions holding (or queued for) ACCESS EXCLUSIVE on a table of this database: the only mode
 * that blocks the ACCESS SHARE lock pg_dump and our inventory take. Read on a fresh connection,
 * since the dump's own one may sit in an aborted transaction.
 */
async function lockHolders(connection: PostgresConnection): Promise<Holder[]> {
	const client = await connect(connection);
	try {
		const { rows } = await client.query<Holder>(
			`SELECT DISTINCT a.pid, a.application_name, a.usename, a.state, a.query_start,
			        n.nspname || '.' || c.relname AS relation, l.granted
			   FROM pg_locks l
			   JOIN pg_stat_activity a ON a.pid = l.pid
			   JOIN pg_class c ON c.oid = l.relation
			   JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
			    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			    AND l.pid <> pg_backend_pid() AND n.nspname NOT LIKE 'pg\\_%'
			  ORDER BY l.granted DESC, a.pid LIMIT 10`,
		);
		return rows;
	} finally {
		await client.end().catch(() => undefined);
	}
}

const describeHolder = (h: Holder) =>
	`pid ${h.pid} (application "${h.application_name ?? '?'}", user "${h.usename ?? '?'}", state ${h.state ?? '?'}` +
	`${h.query_start ? `, query started ${new Date(h.query_start).toISOString()}` : ''}) ${h.granted ? 'holds' : 'waits for'} ACCESS EXCLUSIVE on ${h.relation}`;

/** The BackupError of a dump that gave up waiting for a lock, naming who held it. */
export async function lockWaitError(
	connection: PostgresConnection,
	seconds: number,
	detail: string,
	cause?: unknown,
): Promise<BackupError> {
	let holders: Holder[] | undefined;
	try {
		holders = await lockHolders(connection);
	} catch {
		// the explanation is a courtesy: the lock failure itself is the error
	}
	const who = holders?.length
		? `blocked by ${holders.map(describeHolder).join('; ')}`
		: 'the session that held the lock has already released it (or is not visible to this user)';
	return new BackupError(
		'DUMP_FAILED',
		`The dump of ${connection.database} gave up after waiting ${seconds} s for a table lock: ${who}. ${detail}`.trim(),
		`Run the backup again once that session has finished, or stop it (SELECT pg_terminate_backend(<pid>)) if it is stuck; raise "Lock Wait Timeout (Seconds)" to wait longer. Nothing was kept: the unfinished set was removed.`,
		{ cause },
	);
}
