import { arrayOf, boolean, integer, nullable, object, oneOf, string } from './schema';
import { tableInventorySchema, type TableInventory } from './postgres-manifest';

/** What a SQL Server set's manifest records about its source. */
export interface SqlServerSourceFacts {
	/** Server as given in the credential (host, host\instance or host,port). */
	host: string;
	port: number | null;
	instance: string | null;
	database: string;
	user: string;
	/** SERVERPROPERTY('ProductVersion'), e.g. 16.0.4135.4. */
	serverVersion: string;
	/** SERVERPROPERTY('Edition'), e.g. "Standard Edition (64-bit)". */
	edition: string;
	/** SERVERPROPERTY('EngineEdition'): 2 Standard/Web, 3 Enterprise/Developer, 4 Express… */
	engineEdition: number;
	/** @@SERVERNAME, the name msdb history is recorded under. */
	serverName: string;
	collation: string;
	recoveryModel: 'FULL' | 'BULK_LOGGED' | 'SIMPLE';
	compatibilityLevel: number;
	databaseBytes: number;
	/** The backup folder as SQL Server sees it, and the same folder as n8n sees it. */
	serverFolder: string;
	localFolder: string;
}

/** LSNs as decimal strings: numeric(25,0) values do not fit a JavaScript number. */
export interface SqlServerBackupLsns {
	first: string;
	last: string;
	checkpoint: string;
	databaseBackup: string;
	/** Differentials only: the checkpoint LSN of the full they are based on. */
	differentialBase: string | null;
}

/** The backup itself, as RESTORE HEADERONLY and msdb describe it. */
export interface SqlServerBackupHeader {
	/** 'full' (HEADERONLY BackupType 1), 'differential' (5) or 'log' (2). */
	backupType: 'full' | 'differential' | 'log';
	/** The file's path as SQL Server wrote it. */
	serverPath: string;
	position: number;
	databaseName: string;
	copyOnly: boolean;
	compressed: boolean;
	hasChecksums: boolean;
	backupStartDate: string;
	backupFinishDate: string;
	backupBytes: number;
	compressedBytes: number;
	lsn: SqlServerBackupLsns;
	/** Where the exact LSN digits came from: msdb's history, or HEADERONLY itself. */
	lsnSource: 'msdb' | 'headeronly';
}

export interface SqlServerInventory {
	engine: 'sqlserver';
	/** false: counts are read right after BACKUP finished, not inside the backup's own snapshot. */
	snapshotConsistent: boolean;
	tables: TableInventory[];
	counts: { unqIndexes: number; triggers: number; procedures: number };
	dbaccess: { topTables: string[]; sysTables: string[] };
	/** schema.name of every stored procedure (DBAccess installs its own, listed in TOP_SP). */
	procedures: string[];
	backup: SqlServerBackupHeader;
}

const lsn = string(/^\d{1,25}$/, 'an LSN (decimal digits)');

export const sqlServerSourceSchema = object({
	host: string(),
	port: nullable(integer(1)),
	instance: nullable(string()),
	database: string(),
	user: string(),
	serverVersion: string(),
	edition: string(),
	engineEdition: integer(),
	serverName: string(),
	collation: string(),
	recoveryModel: oneOf('FULL', 'BULK_LOGGED', 'SIMPLE'),
	compatibilityLevel: integer(),
	databaseBytes: integer(),
	serverFolder: string(),
	localFolder: string(),
});

export const sqlServerInventorySchema = object({
	engine: oneOf('sqlserver'),
	snapshotConsistent: boolean,
	tables: arrayOf(tableInventorySchema),
	counts: object({ unqIndexes: integer(), triggers: integer(), procedures: integer() }),
	dbaccess: object({ topTables: arrayOf(string()), sysTables: arrayOf(string()) }),
	procedures: arrayOf(string()),
	backup: object({
		backupType: oneOf('full', 'differential', 'log'),
		serverPath: string(),
		position: integer(1),
		databaseName: string(),
		copyOnly: boolean,
		compressed: boolean,
		hasChecksums: boolean,
		backupStartDate: string(),
		backupFinishDate: string(),
		backupBytes: integer(),
		compressedBytes: integer(),
		lsn: object({ first: lsn, last: lsn, checkpoint: lsn, databaseBackup: lsn, differentialBase: nullable(lsn) }),
		lsnSource: oneOf('msdb', 'headeronly'),
	}),
});
