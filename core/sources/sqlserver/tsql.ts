/**
 * T-SQL text for everything the SQL Server engine runs. Pure functions, so the exact statements
 * are tested without a server. Every name or path that comes from a parameter goes through
 * `quoteName` or `quoteString`; nothing else is ever concatenated into a statement.
 */
import { BackupError } from '../../errors';

/** SQL Server's sysname is nvarchar(128); QUOTENAME returns NULL beyond that. */
const MAX_NAME = 128;

function refuseNul(value: string, what: string) {
	if (value.includes('\u0000'))
		throw new BackupError(
			'INVALID_INPUT',
			`The ${what} contains a NUL character`,
			'Remove the NUL character; SQL Server names and paths cannot contain it.',
		);
}

/** [name] with `]` doubled, as QUOTENAME does. */
export function quoteName(name: string): string {
	refuseNul(name, 'name');
	if (!name.length || name.length > MAX_NAME)
		throw new BackupError(
			'INVALID_INPUT',
			`"${name.slice(0, 40)}" is not a SQL Server name (1 to 128 characters)`,
			'Check the database name in the credential.',
		);
	return `[${name.replace(/]/g, ']]')}]`;
}

/** N'text' with `'` doubled: a Unicode literal whatever the server's code page. */
export function quoteString(text: string): string {
	refuseNul(text, 'text');
	return `N'${text.replace(/'/g, "''")}'`;
}

export type SqlBackupType = 'full' | 'differential' | 'log';

export interface BackupStatementOptions {
	database: string;
	type: SqlBackupType;
	/** The file as SQL Server sees it. */
	serverPath: string;
	/** Recorded in msdb and in the file (HEADERONLY BackupName): the set's backupId. */
	name: string;
	description: string;
	compression: boolean;
	copyOnly: boolean;
	/** STATS = N: a "N percent processed." message every N percent, turned into progress. */
	statsPercent: number;
}

/** BACKUP DATABASE / LOG … TO DISK … WITH CHECKSUM and the chosen options. */
export function backupStatement(o: BackupStatementOptions): string {
	if (o.copyOnly && o.type === 'differential')
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			'Copy-only applies to full and log backups; SQL Server ignores it on a differential',
			'Turn "Copy-Only" off for differential backups, or make a copy-only full instead.',
		);
	const withOptions = [
		...(o.type === 'differential' ? ['DIFFERENTIAL'] : []),
		'CHECKSUM',
		o.compression ? 'COMPRESSION' : 'NO_COMPRESSION',
		...(o.copyOnly ? ['COPY_ONLY'] : []),
		`NAME = ${quoteString(o.name)}`,
		`DESCRIPTION = ${quoteString(o.description)}`,
		`STATS = ${statsPercent(o.statsPercent)}`,
	];
	const what = o.type === 'log' ? 'LOG' : 'DATABASE';
	return `BACKUP ${what} ${quoteName(o.database)} TO DISK = ${quoteString(o.serverPath)} WITH ${withOptions.join(', ')}`;
}

function statsPercent(value: number): number {
	const n = Math.trunc(value);
	if (!(n >= 1 && n <= 100))
		throw new BackupError(
			'INVALID_INPUT',
			`Progress step ${value} is not a percentage`,
			'Use a whole number from 1 to 100.',
		);
	return n;
}

export const headerOnlyStatement = (serverPath: string) => `RESTORE HEADERONLY FROM DISK = ${quoteString(serverPath)}`;
export const fileListOnlyStatement = (serverPath: string) =>
	`RESTORE FILELISTONLY FROM DISK = ${quoteString(serverPath)}`;
export const verifyOnlyStatement = (serverPath: string) =>
	`RESTORE VERIFYONLY FROM DISK = ${quoteString(serverPath)} WITH CHECKSUM`;

export interface FileMove {
	logicalName: string;
	serverPath: string;
}

/**
 * One step of a restore chain, always WITH NORECOVERY (the chain ends with `recoverStatement`).
 * The full moves every file to the scratch database's own names; later steps follow it.
 */
export function restoreStatement(o: {
	database: string;
	type: SqlBackupType;
	serverPath: string;
	moves: FileMove[];
	statsPercent: number;
}): string {
	const what = o.type === 'log' ? 'LOG' : 'DATABASE';
	const withOptions = [
		'FILE = 1',
		...o.moves.map((m) => `MOVE ${quoteString(m.logicalName)} TO ${quoteString(m.serverPath)}`),
		'NORECOVERY',
		'CHECKSUM',
		`STATS = ${statsPercent(o.statsPercent)}`,
	];
	return `RESTORE ${what} ${quoteName(o.database)} FROM DISK = ${quoteString(o.serverPath)} WITH ${withOptions.join(', ')}`;
}

export const recoverStatement = (database: string) => `RESTORE DATABASE ${quoteName(database)} WITH RECOVERY`;

export const checkDbStatement = (database: string) =>
	`DBCC CHECKDB (${quoteName(database)}) WITH NO_INFOMSGS, ALL_ERRORMSGS`;

/**
 * Drops a scratch database whatever state the restore left it in: RESTORING (dropped as is) or
 * ONLINE (other sessions are thrown out first).
 */
export function dropDatabaseStatement(database: string): string {
	const name = quoteString(database);
	const id = quoteName(database);
	return (
		`IF DB_ID(${name}) IS NOT NULL BEGIN ` +
		`IF DATABASEPROPERTYEX(${name}, 'Status') = N'ONLINE' ALTER DATABASE ${id} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ` +
		`DROP DATABASE ${id}; END`
	);
}

/** State and access mode of a database by name (no row: it does not exist). */
export const DATABASE_STATE_SQL =
	'SELECT state_desc AS state, user_access_desc AS userAccess FROM sys.databases WHERE name = @name';

/**
 * Renames a database that may be in use: other sessions are thrown out (their transactions
 * rolled back) and the rename runs in the same batch, before anyone can take the one connection.
 */
export const moveAsideStatement = (database: string, newName: string) =>
	`ALTER DATABASE ${quoteName(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ALTER DATABASE ${quoteName(database)} MODIFY NAME = ${quoteName(newName)};`;

export type UserAccess = 'MULTI_USER' | 'RESTRICTED_USER' | 'SINGLE_USER';

export const setUserAccessStatement = (database: string, access: UserAccess) =>
	`ALTER DATABASE ${quoteName(database)} SET ${access}`;

export const renameDatabaseStatement = (database: string, newName: string) =>
	`ALTER DATABASE ${quoteName(database)} MODIFY NAME = ${quoteName(newName)}`;

/** Joins a folder and a file name the way the server's operating system writes paths. */
export function serverJoin(folder: string, name: string): string {
	const separator = serverSeparator(folder);
	return folder.endsWith(separator) ? `${folder}${name}` : `${folder}${separator}${name}`;
}

/** `\` for Windows paths (D:\…, \\server\share…), `/` for SQL Server on Linux. */
export const serverSeparator = (folder: string) => (/^[A-Za-z]:|\\/.test(folder) ? '\\' : '/');

/** "10 percent processed." → 10 (message 3211 of BACKUP/RESTORE … WITH STATS). */
export function percentFromMessage(message: string): number | undefined {
	const match = /^\s*(\d{1,3}) percent processed/i.exec(message);
	return match ? Number(match[1]) : undefined;
}
