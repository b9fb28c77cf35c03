import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostgresInventory } from '../../../core/backup-set/manifest';
import type { BackupSetWriter } from '../../../core/backup-set/set-writer';
import type { PostgresConnection } from '../../../core/sources/postgres';
import type { PitrSetRecord } from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';

/** A chain member from a set writer and what the engine returned (what a manifest will hold). */
export function pitrSet(
	set: BackupSetWriter,
	type: 'full' | 'incremental',
	outcome: Pick<PitrSetRecord, 'source' | 'pitr' | 'artifacts'> & { inventory?: PostgresInventory },
): PitrSetRecord {
	return {
		backupId: set.backupId,
		folder: set.folder,
		type,
		source: outcome.source,
		pitr: outcome.pitr,
		artifacts: outcome.artifacts,
		inventory: outcome.inventory,
	};
}

/**
 * A scratch root the restore test's unprivileged user can enter (mkdtemp makes 0700 folders;
 * the restore test makes its own 0700 folder inside, owned by that user).
 */
export function scratchRoot(): string {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-pitr-scratch-'));
	chmodSync(folder, 0o755);
	return folder;
}

/** Only to separate commit timestamps around a target time, never to wait for something. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A PostgreSQL 15 server of its own (WAL for replication, slots) with a REPLICATION role that
 * reads all data and a database made by `setup`, and the connection a backup uses.
 */
export async function pitrServerWithDatabase(
	database: string,
	setup: (server: PitrServer) => Promise<unknown>,
): Promise<{ server: PitrServer; connection: PostgresConnection }> {
	const server = await startPitrServer();
	await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin(`CREATE DATABASE ${database}`);
	await setup(server);
	const connection: PostgresConnection = {
		host: server.host,
		port: server.port,
		database,
		user: 'backup',
		password: 'secret',
		sslMode: 'disable',
	};
	return { server, connection };
}
