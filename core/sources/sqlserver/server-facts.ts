import { BackupError } from '../../errors';
import { rowsOf, type SqlRunner } from './runner';

export interface ServerFacts {
	productVersion: string;
	/** 16 for SQL Server 2022, 15 for 2019, 14 for 2017, 13 for 2016, 12, 11, 10.5 (2008 R2)… */
	version: number;
	edition: string;
	engineEdition: number;
	editionId: number;
	serverName: string;
	/** Default folders for new data and log files, as the server sees them. */
	dataPath: string;
	logPath: string;
}

export interface DatabaseFacts {
	name: string;
	collation: string;
	recoveryModel: 'FULL' | 'BULK_LOGGED' | 'SIMPLE';
	compatibilityLevel: number;
	state: string;
	dataBytes: number;
	/** NULL: no log chain (never a full backup since FULL recovery was set). */
	lastLogBackupLsn: string | null;
	/** NULL: no full backup a differential could be based on (Ola's ChangeBackupType test). */
	differentialBaseLsn: string | null;
}

export const SERVER_FACTS_SQL =
	"SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS productVersion, " +
	"CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, " +
	"CAST(SERVERPROPERTY('EngineEdition') AS int) AS engineEdition, " +
	"CAST(SERVERPROPERTY('EditionID') AS int) AS editionId, " +
	'CAST(@@SERVERNAME AS nvarchar(128)) AS serverName, ' +
	"CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(4000)) AS dataPath, " +
	"CAST(SERVERPROPERTY('InstanceDefaultLogPath') AS nvarchar(4000)) AS logPath, " +
	// SQL Server 2008 R2 and older have no InstanceDefault*Path: fall back to model's folders.
	'(SELECT TOP (1) physical_name FROM sys.master_files WHERE database_id = 3 AND type = 0 ORDER BY file_id) AS modelData, ' +
	'(SELECT TOP (1) physical_name FROM sys.master_files WHERE database_id = 3 AND type = 1 ORDER BY file_id) AS modelLog';

/**
 * Facts of the connected database. File facts come from sys.database_files (visible to any user
 * of the database), not sys.master_files (which needs VIEW ANY DEFINITION to show rows).
 */
export const DATABASE_FACTS_SQL =
	'SELECT d.name, d.collation_name AS collation, d.recovery_model_desc AS recoveryModel, d.compatibility_level AS compatibilityLevel, d.state_desc AS state, ' +
	'CAST((SELECT SUM(CAST(f.size AS bigint)) * 8192 FROM sys.database_files f WHERE f.type = 0) AS bigint) AS dataBytes, ' +
	'CAST(rs.last_log_backup_lsn AS varchar(25)) AS lastLogBackupLsn, ' +
	'CAST((SELECT f.differential_base_lsn FROM sys.database_files f WHERE f.file_id = 1) AS varchar(25)) AS differentialBaseLsn ' +
	'FROM sys.databases d LEFT JOIN sys.database_recovery_status rs ON rs.database_id = d.database_id WHERE d.name = @database AND d.database_id = DB_ID()';

const folderOf = (path: unknown) => {
	const text = String(path ?? '');
	const cut = Math.max(text.lastIndexOf('\\'), text.lastIndexOf('/'));
	return cut > 0 ? text.slice(0, cut + 1) : '';
};

/** "16.0.4135.4" → 16; "10.50.6000.34" → 10.5 (the way Ola Hallengren's scripts compare versions). */
export function versionNumber(productVersion: string): number {
	const [major, minor] = productVersion.split('.').map(Number);
	return major + (minor || 0) / 100;
}

export async function readServerFacts(runner: SqlRunner): Promise<ServerFacts> {
	const [row] = rowsOf<Record<string, unknown>>(await runner.query(SERVER_FACTS_SQL));
	const productVersion = String(row.productVersion);
	return {
		productVersion,
		version: versionNumber(productVersion),
		edition: String(row.edition),
		engineEdition: Number(row.engineEdition),
		editionId: Number(row.editionId),
		serverName: String(row.serverName ?? ''),
		dataPath: String(row.dataPath || folderOf(row.modelData)),
		logPath: String(row.logPath || folderOf(row.modelLog)),
	};
}

/** Facts of `database`, which must be the database the runner is connected to. */
export async function readDatabaseFacts(runner: SqlRunner, database: string): Promise<DatabaseFacts> {
	const [row] = rowsOf<Record<string, unknown>>(await runner.query(DATABASE_FACTS_SQL, { database }));
	if (!row)
		throw new BackupError(
			'DATABASE_NOT_FOUND',
			`Database "${database}" is not the database of the connection ${runner.description}, or does not exist`,
			'Check the database name in the TOTVS SQL Server credential.',
		);
	return {
		name: String(row.name),
		collation: String(row.collation ?? ''),
		recoveryModel: String(row.recoveryModel) as DatabaseFacts['recoveryModel'],
		compatibilityLevel: Number(row.compatibilityLevel),
		state: String(row.state),
		dataBytes: Number(row.dataBytes ?? 0),
		lastLogBackupLsn: row.lastLogBackupLsn == null ? null : String(row.lastLogBackupLsn),
		differentialBaseLsn: row.differentialBaseLsn == null ? null : String(row.differentialBaseLsn),
	};
}

/** Editions that can compress backups (Ola Hallengren's rule: EditionID Standard/BI from 2008 R2, Enterprise/Developer, Managed Instance). */
const STANDARD_EDITION_ID = -1534726760;
const BUSINESS_INTELLIGENCE_EDITION_ID = 284895786;

export function supportsBackupCompression(f: Pick<ServerFacts, 'version' | 'engineEdition' | 'editionId'>): boolean {
	if (f.version >= 10 && f.version < 10.5) return f.engineEdition === 3;
	if (f.version >= 10.5)
		return (
			f.engineEdition === 3 ||
			f.engineEdition === 8 ||
			f.editionId === STANDARD_EDITION_ID ||
			f.editionId === BUSINESS_INTELLIGENCE_EDITION_ID
		);
	return false;
}

/** Azure SQL Database / Synapse cannot BACKUP TO DISK; Managed Instance only to URL. */
export function refuseCloudEditions(f: ServerFacts, where: string): void {
	if ([5, 6, 8, 9, 11, 12].includes(f.engineEdition))
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`${where} is ${f.edition} (EngineEdition ${f.engineEdition}), which cannot write backups to a disk file`,
			'Back up Azure SQL with its own automated backups or export (bacpac); this node backs up SQL Server instances (on Windows, Linux or a VM).',
		);
}

/** "Enterprise Edition" without the "(64-bit)" suffix, for messages. */
export const shortEdition = (edition: string) => edition.replace(/\s*\(64-bit\)\s*$/i, '');
