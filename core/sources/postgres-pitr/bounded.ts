/**
 * Every wait of this engine has a bound and a clear error when it runs out: a WAL collection on
 * a schedule that hangs would hold the slot and the environment's lock forever, and a restore
 * test that hangs would keep a scratch cluster alive. Programs are bounded by runTool's
 * timeoutMs; SQL sessions by statement_timeout and a bounded close; streams by stall guards.
 */
import type { Client } from 'pg';
import { BackupError } from '../../errors';
import { connect, type PostgresConnection } from '../postgres';

/** Bound on one SQL statement of the engine's own (state, slot, positions; not the inventory). */
export const STATEMENT_TIMEOUT_MS = 120_000;
/** Bound on closing a session: pg's end() waits for the server's goodbye, which a dead link never sends. */
export const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Settles with `work`, or rejects with a TIMEOUT BackupError after `ms` (the work itself is not
 * stopped: callers clean up in their finally blocks).
 */
export async function bounded<T>(work: Promise<T>, ms: number, what: string, hint: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(
			() => reject(new BackupError('TIMEOUT', `${what} did not finish within ${Math.round(ms / 1000)} s`, hint)),
			ms,
		);
	});
	try {
		return await Promise.race([work, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/** A session for the engine's own statements: connect (bounded by the client), each statement bounded by the server. */
export async function connectBounded(connection: PostgresConnection): Promise<Client> {
	const client = await connect(connection);
	try {
		await bounded(
			client.query(`SET statement_timeout = ${STATEMENT_TIMEOUT_MS}`),
			STATEMENT_TIMEOUT_MS,
			`Setting up the session on ${connection.host}:${connection.port}`,
			'The database server does not answer: check that it is running and not overloaded.',
		);
		return client;
	} catch (error) {
		closeClient(client);
		throw error;
	}
}

/** Closes a session without ever waiting longer than CLOSE_TIMEOUT_MS (then the socket is destroyed). */
export async function closeClient(client: Client): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const ended = client.end().then(
		() => 'ended' as const,
		() => 'ended' as const,
	);
	const late = new Promise<'late'>((resolve) => {
		timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS);
	});
	try {
		if ((await Promise.race([ended, late])) === 'late')
			(client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Watches a stream copy for progress: `touch()` on every chunk; when nothing moved for `ms`, the
 * signal aborts with a TIMEOUT BackupError naming what stalled.
 */
export function stallGuard(ms: number, what: string, hint: string) {
	const controller = new AbortController();
	let last = Date.now();
	const timer = setInterval(
		() => {
			if (Date.now() - last > ms)
				controller.abort(new BackupError('TIMEOUT', `${what} made no progress for ${Math.round(ms / 1000)} s`, hint));
		},
		Math.min(ms, 5_000),
	);
	timer.unref();
	return {
		signal: controller.signal,
		touch: () => {
			last = Date.now();
		},
		dispose: () => clearInterval(timer),
	};
}
