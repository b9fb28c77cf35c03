import type { SqlServerBackupHeader, SqlServerBackupLsns } from '../../backup-set/manifest';
import { BackupError } from '../../errors';
import { headerLsnMatches, lsnText } from './lsn-chain';
import { rowsOf, type SqlRunner } from './runner';
import { headerOnlyStatement } from './tsql';

/** RESTORE HEADERONLY's BackupType: 1 database, 5 differential database, 2 log. */
const HEADER_TYPES: Record<number, SqlServerBackupHeader['backupType']> = { 1: 'full', 5: 'differential', 2: 'log' };

/** The exact LSNs of the backup named `name` (the set's backupId), from msdb's history. */
export const BACKUP_HISTORY_SQL =
	'SELECT TOP (1) CAST(bs.first_lsn AS varchar(25)) AS firstLsn, CAST(bs.last_lsn AS varchar(25)) AS lastLsn, ' +
	'CAST(bs.checkpoint_lsn AS varchar(25)) AS checkpointLsn, CAST(bs.database_backup_lsn AS varchar(25)) AS databaseBackupLsn, ' +
	'CAST(bs.differential_base_lsn AS varchar(25)) AS differentialBaseLsn ' +
	'FROM msdb.dbo.backupset bs WHERE bs.name = @name AND bs.database_name = @database ORDER BY bs.backup_set_id DESC';

/** The newest full backup msdb knows of (the base the next differential will name). */
export const LATEST_FULL_SQL =
	'SELECT TOP (1) bs.name, CAST(bs.checkpoint_lsn AS varchar(25)) AS checkpointLsn, bs.backup_finish_date AS finishedAt, mf.physical_device_name AS device ' +
	'FROM msdb.dbo.backupset bs LEFT JOIN msdb.dbo.backupmediafamily mf ON mf.media_set_id = bs.media_set_id ' +
	"WHERE bs.database_name = @database AND bs.type = 'D' AND bs.is_copy_only = 0 ORDER BY bs.backup_finish_date DESC";

export type HeaderRow = Record<string, unknown>;

export async function readHeaderRows(runner: SqlRunner, serverPath: string): Promise<HeaderRow[]> {
	return rowsOf<HeaderRow>(await runner.query(headerOnlyStatement(serverPath), {}, { timeoutMs: 0 }));
}

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString());

/**
 * Describes the backup just written to `serverPath`: HEADERONLY says what the file holds; msdb
 * gives the exact LSN digits (the driver reads numeric(25,0) as a rounded double), which the
 * header must confirm. Without msdb history, exact header values are used or the backup fails.
 */
export async function describeBackup(
	runner: SqlRunner,
	serverPath: string,
	name: string,
	database: string,
): Promise<SqlServerBackupHeader> {
	const rows = await readHeaderRows(runner, serverPath);
	if (rows.length !== 1)
		throw new BackupError(
			'DUMP_FAILED',
			`Backup file ${serverPath} holds ${rows.length} backups, expected exactly one`,
			'The file existed before the backup; choose an empty backup folder.',
		);
	const h = rows[0];
	const backupType = HEADER_TYPES[Number(h.BackupType)];
	if (!backupType)
		throw new BackupError(
			'DUMP_FAILED',
			`Backup file ${serverPath} holds backup type ${String(h.BackupType)}, not a database, differential or log backup`,
			'Report this: the node only writes those types.',
		);
	if (String(h.DatabaseName) !== database)
		throw new BackupError(
			'DUMP_FAILED',
			`Backup file ${serverPath} is a backup of "${String(h.DatabaseName)}", not of "${database}"`,
			'Another process wrote the same file name; use a backup folder of its own for n8n.',
		);
	const [history] = rowsOf<Record<string, string | null>>(await runner.query(BACKUP_HISTORY_SQL, { name, database }));
	let lsn: SqlServerBackupLsns;
	let lsnSource: SqlServerBackupHeader['lsnSource'];
	if (history?.firstLsn) {
		lsn = {
			first: lsnText(history.firstLsn, 'FirstLSN'),
			last: lsnText(history.lastLsn, 'LastLSN'),
			checkpoint: lsnText(history.checkpointLsn, 'CheckpointLSN'),
			databaseBackup: lsnText(history.databaseBackupLsn ?? '0', 'DatabaseBackupLSN'),
			differentialBase: history.differentialBaseLsn
				? lsnText(history.differentialBaseLsn, 'DifferentialBaseLSN')
				: null,
		};
		lsnSource = 'msdb';
		if (!headerLsnMatches(h.FirstLSN, lsn.first) || !headerLsnMatches(h.LastLSN, lsn.last))
			throw new BackupError(
				'DUMP_FAILED',
				`msdb's history of ${name} (LSN ${lsn.first}–${lsn.last}) does not describe file ${serverPath} (HEADERONLY ${String(h.FirstLSN)}–${String(h.LastLSN)})`,
				'Two backups were written under the same name at once; run one backup of this database at a time.',
			);
	} else {
		lsn = {
			first: lsnText(h.FirstLSN, 'FirstLSN'),
			last: lsnText(h.LastLSN, 'LastLSN'),
			checkpoint: lsnText(h.CheckpointLSN, 'CheckpointLSN'),
			databaseBackup: lsnText(h.DatabaseBackupLSN ?? 0, 'DatabaseBackupLSN'),
			differentialBase:
				h.DifferentialBaseLSN == null || backupType !== 'differential'
					? null
					: lsnText(h.DifferentialBaseLSN, 'DifferentialBaseLSN'),
		};
		lsnSource = 'headeronly';
	}
	return {
		backupType,
		serverPath,
		position: Number(h.Position ?? 1),
		databaseName: String(h.DatabaseName),
		copyOnly: Boolean(h.IsCopyOnly),
		compressed: Boolean(h.Compressed),
		hasChecksums: Boolean(h.HasBackupChecksums),
		backupStartDate: iso(h.BackupStartDate),
		backupFinishDate: iso(h.BackupFinishDate),
		backupBytes: Number(h.BackupSize ?? 0),
		compressedBytes: Number(h.CompressedBackupSize ?? h.BackupSize ?? 0),
		lsn,
		lsnSource,
	};
}

/** Differences between a file's HEADERONLY row and what the manifest recorded for it. */
export function headerDifferences(row: HeaderRow, recorded: SqlServerBackupHeader): string[] {
	const problems: string[] = [];
	if (HEADER_TYPES[Number(row.BackupType)] !== recorded.backupType)
		problems.push(`backup type ${String(row.BackupType)}, recorded ${recorded.backupType}`);
	if (String(row.DatabaseName) !== recorded.databaseName)
		problems.push(`database "${String(row.DatabaseName)}", recorded "${recorded.databaseName}"`);
	if (!headerLsnMatches(row.FirstLSN, recorded.lsn.first))
		problems.push(`FirstLSN ${String(row.FirstLSN)}, recorded ${recorded.lsn.first}`);
	if (!headerLsnMatches(row.LastLSN, recorded.lsn.last))
		problems.push(`LastLSN ${String(row.LastLSN)}, recorded ${recorded.lsn.last}`);
	return problems;
}
