import { BackupError } from '../../errors';
import { rowsOf, type SqlRunner } from './runner';
import { readDatabaseFacts, readServerFacts, shortEdition, supportsBackupCompression } from './server-facts';

/**
 * What the credential's Test button reports: server version and edition, the database's
 * recovery model (and so which backup types it allows), and whether the login may back up.
 */
export async function describeServerForCredential(
	runner: SqlRunner,
	database: string,
): Promise<{ ok: boolean; message: string }> {
	const server = await readServerFacts(runner);
	const db = await readDatabaseFacts(runner, database);
	const [perms] = rowsOf<{ backupDatabase: unknown; backupLog: unknown }>(
		await runner.query(
			"SELECT HAS_PERMS_BY_NAME(@database, N'DATABASE', N'BACKUP DATABASE') AS backupDatabase, HAS_PERMS_BY_NAME(@database, N'DATABASE', N'BACKUP LOG') AS backupLog",
			{ database },
		),
	);
	const types =
		db.recoveryModel === 'SIMPLE'
			? 'full and differential backups (SIMPLE recovery: no log backups)'
			: 'full, differential and log backups';
	const base = `Connected to SQL Server ${server.productVersion} ${shortEdition(server.edition)}; database ${db.name}: recovery model ${db.recoveryModel}, collation ${db.collation}, ${types}; backup compression ${supportsBackupCompression(server) ? 'available' : 'not available in this edition'}`;
	if (Number(perms?.backupDatabase) !== 1)
		return {
			ok: false,
			message: `${base}. But the login may not back up ${db.name}: add its user to db_backupoperator (or use a sysadmin login)`,
		};
	return { ok: true, message: base };
}

export function credentialTestMessage(error: unknown): string {
	return error instanceof BackupError ? `${error.message}. ${error.hint}` : (error as Error).message;
}
