import { randomBytes } from 'node:crypto';
import { BackupError, systemErrorCode } from '../../errors';
import { childEnvironment, type PostgresConnection } from '../postgres';
import { closeClient, connectBounded } from './bounded';
import { compareLsn } from './lsn';
import type { SlotReport } from './manifest';
import { DEFAULT_SLOT_WARN_BYTES, readSlot } from './server';
import { libpqFailure, runTool } from './tools';
import type { ClientToolInfo } from '../postgres';

/**
 * Creates the environment's physical slot if it does not exist, over the replication protocol
 * (pg_receivewal --create-slot), as the backup tools connect: its failure is also the proof that
 * pg_hba.conf or the role's REPLICATION attribute is missing. The slot reserves WAL at once.
 */
export async function ensureSlot(
	connection: PostgresConnection,
	pgReceivewal: ClientToolInfo,
	slotName: string,
	signal?: AbortSignal,
): Promise<void> {
	const { env, dispose } = await childEnvironment(connection);
	try {
		const result = await runTool(
			pgReceivewal.path,
			['--create-slot', '--if-not-exists', `--slot=${slotName}`, '--no-password'],
			{ env, signal, timeoutMs: 60_000 },
		);
		if (result.code !== 0)
			throw libpqFailure(
				'pg_receivewal --create-slot',
				result.output.text(),
				connection.user,
				'Read the message above; the slot could not be created.',
			);
	} finally {
		await dispose();
	}
}

/**
 * Proves a replication connection is allowed (pg_hba.conf "replication" line, REPLICATION
 * attribute, a free WAL sender) without side effects: it asks to drop a slot that cannot exist,
 * which the server only answers "does not exist" after it accepted the replication login.
 */
export async function probeReplication(
	connection: PostgresConnection,
	pgReceivewal: ClientToolInfo,
	signal?: AbortSignal,
): Promise<void> {
	const { env, dispose } = await childEnvironment(connection);
	try {
		const result = await runTool(
			pgReceivewal.path,
			['--drop-slot', `--slot=totvs_probe_${randomBytes(6).toString('hex')}`, '--no-password'],
			{ env, signal, timeoutMs: 60_000 },
		);
		const text = result.output.text();
		if (result.code === 0 || /replication slot ".*" does not exist/.test(text)) return;
		throw libpqFailure('replication connection', text, connection.user, 'Read the message above.');
	} finally {
		await dispose();
	}
}

/** The slot's state and retained WAL (SQL; any role can read pg_replication_slots). */
export async function slotReport(
	connection: PostgresConnection,
	slotName: string,
	warnAboveBytes = DEFAULT_SLOT_WARN_BYTES,
): Promise<SlotReport> {
	const client = await connectBounded(connection);
	try {
		return await readSlot(client, slotName, warnAboveBytes);
	} finally {
		await closeClient(client);
	}
}

/**
 * Lets the server recycle WAL before `upToLsn`: call it once the set holding that WAL is
 * committed (its manifest written), never before, so a failed run never costs WAL the chain
 * needs. pg_receivewal's own feedback is not relied on: it reports its start at connection and
 * may exit before reporting where it stopped.
 */
export async function releaseWal(
	connection: PostgresConnection,
	slotName: string,
	upToLsn: string,
	warnAboveBytes = DEFAULT_SLOT_WARN_BYTES,
): Promise<SlotReport> {
	const client = await connectBounded(connection);
	try {
		const before = await readSlot(client, slotName, warnAboveBytes);
		if (!before.exists)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Replication slot "${slotName}" does not exist any more`,
				'Someone dropped it: the point-in-time chain is broken; the next backup must be a full.',
			);
		if (before.restartLsn && compareLsn(before.restartLsn, upToLsn) < 0)
			await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slotName, upToLsn]);
		return await readSlot(client, slotName, before.warnAboveBytes);
	} finally {
		await closeClient(client);
	}
}

/**
 * Drops the environment's slot so the server stops keeping WAL for it: when point-in-time
 * backups of the environment are given up, or the collection host is gone for good. The
 * current chain cannot be extended afterwards; its sets stay restorable.
 */
export async function dropSlot(connection: PostgresConnection, slotName: string): Promise<{ dropped: boolean }> {
	const client = await connectBounded(connection);
	try {
		const slot = await readSlot(client, slotName);
		if (!slot.exists) return { dropped: false };
		try {
			await client.query('SELECT pg_drop_replication_slot($1)', [slotName]);
		} catch (error) {
			if (systemErrorCode(error) === '55006')
				throw new BackupError(
					'LOCKED',
					`Replication slot "${slotName}" is in use (a WAL collection or base backup is running)`,
					'Wait for it to finish and drop the slot again.',
					{ cause: error },
				);
			if (systemErrorCode(error) === '42501')
				throw new BackupError(
					'PERMISSION_DENIED',
					`User "${connection.user}" may not drop replication slots`,
					`Use a role with REPLICATION (ALTER ROLE "${connection.user}" REPLICATION) or a superuser.`,
					{ cause: error },
				);
			throw error;
		}
		return { dropped: true };
	} finally {
		await closeClient(client);
	}
}
