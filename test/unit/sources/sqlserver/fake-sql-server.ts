/**
 * A scripted stand-in for SQL Server behind the SqlRunner seam. It is NOT a SQL Server: it
 * answers the statements the engine sends with what the documentation says SQL Server returns
 * (HEADERONLY LSNs as the driver delivers them, i.e. rounded doubles; msdb LSNs as text;
 * STATS messages; error numbers), keeps just enough state (LSNs, log chain, differential base,
 * msdb history, databases being restored) to exercise the orchestration, and records every
 * statement so tests can assert the exact T-SQL. Failures are injected per statement.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
	SqlError,
	type QueryOptions,
	type SqlMessage,
	type SqlResult,
	type SqlRow,
	type SqlRunner,
} from '../../../../core/sources/sqlserver/runner';

export interface FakeTable {
	schema: string;
	name: string;
	rows: number;
	maxRecno: number | null;
	hasDeleted?: boolean;
}

export interface HistoryRow {
	name: string;
	database: string;
	type: 'D' | 'I' | 'L';
	first: bigint;
	last: bigint;
	checkpoint: bigint;
	databaseBackup: bigint;
	differentialBase: bigint | null;
	copyOnly: boolean;
	device: string;
}

interface Injected {
	match: RegExp;
	error?: SqlError;
	/** Thrown as-is (a dropped connection, not a server error). */
	crash?: Error;
	messages?: SqlMessage[];
	once: boolean;
}

/** Unescapes one [quoted] identifier at the start of `text`; returns it and the rest. */
export function readQuotedName(text: string): { name: string; rest: string } {
	if (text[0] !== '[') throw new Error(`expected [ at: ${text.slice(0, 30)}`);
	let name = '';
	for (let i = 1; i < text.length; i++) {
		if (text[i] === ']') {
			if (text[i + 1] === ']') {
				name += ']';
				i++;
				continue;
			}
			return { name, rest: text.slice(i + 1) };
		}
		name += text[i];
	}
	throw new Error('unterminated [name]');
}

/** Unescapes one N'string' literal at the start of `text`. */
export function readQuotedString(text: string): { value: string; rest: string } {
	if (!text.startsWith("N'")) throw new Error(`expected N' at: ${text.slice(0, 30)}`);
	let value = '';
	for (let i = 2; i < text.length; i++) {
		if (text[i] === "'") {
			if (text[i + 1] === "'") {
				value += "'";
				i++;
				continue;
			}
			return { value, rest: text.slice(i + 1) };
		}
		value += text[i];
	}
	throw new Error("unterminated N'string'");
}

export const sqlError = (number: number, message: string, severity = 16): SqlError =>
	new SqlError(message, number, [{ number, severity, message }], []);

export class FakeSqlServer {
	readonly statements: string[] = [];
	readonly params: Array<Record<string, unknown>> = [];
	server = {
		productVersion: '16.0.4135.4',
		edition: 'Standard Edition (64-bit)',
		engineEdition: 2,
		editionId: -1534726760,
		serverName: 'SQLPROD01',
		dataPath: 'D:\\MSSQL\\Data\\',
		logPath: 'L:\\MSSQL\\Log\\',
	};
	database = {
		name: 'PROTHEUS',
		collation: 'Latin1_General_BIN',
		recoveryModel: 'FULL',
		compatibilityLevel: 160,
		state: 'ONLINE',
		dataBytes: 5_368_709_120,
	};
	tables: FakeTable[] = [
		{ schema: 'dbo', name: 'SA1010', rows: 1520, maxRecno: 1544 },
		{ schema: 'dbo', name: 'SE1010', rows: 80211, maxRecno: 80400 },
		{ schema: 'dbo', name: 'TOP_FIELD', rows: 310, maxRecno: null },
		{ schema: 'dbo', name: 'SYS_COMPANY', rows: 2, maxRecno: 2 },
	];
	procedures = ['dbo.MAT001_01', 'dbo.FIN002_01'];
	counts = { unqIndexes: 2, triggers: 0 };
	/** What a restored scratch database reports (defaults to the source's contents). */
	restored: { tables?: FakeTable[]; collation?: string } = {};
	canBackup = true;
	/** CREATE DATABASE permission, needed by RESTORE HEADERONLY. */
	canReadHeaders = true;
	/** Server-side LSN position and chain state. */
	lsn = 41000000012800000n;
	lastLogBackupLsn: bigint | null = null;
	differentialBaseLsn: bigint | null = null;
	lastFullCheckpoint = 0n;
	history: HistoryRow[] = [];
	/** What HEADERONLY reads in a file, by the file's SHA-256: the header travels with the file when n8n moves it. */
	private headers = new Map<string, HistoryRow>();
	existingDatabases = new Set<string>();
	droppedDatabases: string[] = [];
	/** sys.databases state_desc / user_access_desc of existing databases (default ONLINE, MULTI_USER). */
	databaseStates = new Map<string, { state: string; userAccess: string }>();
	/** Every MODIFY NAME applied, in order. */
	renames: Array<{ from: string; to: string }> = [];
	private injected: Injected[] = [];
	/** sys.master_files physical names of each database, from the MOVE clauses of its RESTORE. */
	masterFiles = new Map<string, string[]>();
	private hooks: Array<{ match: RegExp; run: (sql: string) => void }> = [];

	constructor(
		/** Maps the server's view of the shared folder to the local one (SQL Server "writes" there). */
		readonly serverFolder: string,
		readonly localFolder: string,
	) {}

	/** Runs `run` just before the next statement matching `match` (another session acting meanwhile). */
	beforeNext(match: RegExp, run: (sql: string) => void) {
		this.hooks.push({ match, run });
	}

	/** The physical names a RESTORE statement moves its files to. */
	static movedFiles(sql: string): string[] {
		return [...sql.matchAll(/ TO N'((?:[^']|'')*)'/g)].map((m) => m[1].replace(/''/g, "'"));
	}

	/** The next statement matching `match` fails with `error` (a server error). */
	failOn(match: RegExp, error: SqlError, once = true) {
		this.injected.push({ match, error, once });
	}

	/** The next statement matching `match` throws `error` as a driver would on a lost connection. */
	crashOn(match: RegExp, error: Error) {
		this.injected.push({ match, crash: error, once: true });
	}

	/** The next matching statement succeeds but the server sends these messages. */
	messagesOn(match: RegExp, messages: SqlMessage[]) {
		this.injected.push({ match, messages, once: true });
	}

	toLocal(serverPath: string): string {
		if (!serverPath.startsWith(this.serverFolder))
			throw sqlError(
				3201,
				`Cannot open backup device '${serverPath}'. Operating system error 3(The system cannot find the path specified.).`,
			);
		const rel = serverPath.slice(this.serverFolder.length).split(/[\\/]/).filter(Boolean);
		return join(this.localFolder, ...rel);
	}

	runner(description = 'sa@sqlprod01:1433/PROTHEUS'): SqlRunner & { closed: number } {
		const runner = {
			description,
			closed: 0,
			query: (sql: string, params: Record<string, unknown> = {}, options: QueryOptions = {}) =>
				this.query(sql, params, options),
			close: async () => {
				runner.closed++;
			},
		};
		return runner;
	}

	private async query(sql: string, params: Record<string, unknown>, options: QueryOptions): Promise<SqlResult> {
		this.statements.push(sql);
		this.params.push(params);
		const hook = this.hooks.find((h) => h.match.test(sql));
		if (hook) {
			this.hooks.splice(this.hooks.indexOf(hook), 1);
			hook.run(sql);
		}
		const injected = this.injected.find((i) => i.match.test(sql));
		if (injected?.once) this.injected.splice(this.injected.indexOf(injected), 1);
		if (injected?.crash) throw injected.crash;
		if (injected?.error) throw injected.error;
		const result = await this.answer(sql, params, options);
		if (injected?.messages) {
			result.messages.push(...injected.messages);
			injected.messages.forEach((m) => options.onMessage?.(m));
		}
		return result;
	}

	private async answer(sql: string, params: Record<string, unknown>, options: QueryOptions): Promise<SqlResult> {
		const rows = (...r: SqlRow[]): SqlResult => ({ recordsets: [r], messages: [] });
		if (sql.includes("SERVERPROPERTY('ProductVersion')"))
			return rows({ ...this.server, modelData: 'C:\\x\\model.mdf', modelLog: 'C:\\x\\modellog.ldf' });
		if (sql.includes('FROM sys.databases d'))
			return params.database === this.database.name
				? rows({
						...this.database,
						dataBytes: String(this.database.dataBytes), // bigint arrives as text
						lastLogBackupLsn: this.lastLogBackupLsn?.toString() ?? null,
						differentialBaseLsn: this.differentialBaseLsn?.toString() ?? null,
					})
				: rows();
		if (sql.includes("N'CREATE ANY DATABASE'"))
			return rows({ anyDatabase: this.canReadHeaders ? 1 : 0, inMaster: this.canReadHeaders ? null : 0 });
		if (sql.startsWith('SELECT HAS_PERMS_BY_NAME'))
			return rows({
				allowed: this.canBackup ? 1 : 0,
				backupDatabase: this.canBackup ? 1 : 0,
				backupLog: this.canBackup ? 1 : 0,
			});
		if (sql.includes('FROM msdb.dbo.backupset bs WHERE bs.name = @name')) {
			const h = [...this.history].reverse().find((x) => x.name === params.name && x.database === params.database);
			return h
				? rows({
						firstLsn: h.first.toString(),
						lastLsn: h.last.toString(),
						checkpointLsn: h.checkpoint.toString(),
						databaseBackupLsn: h.databaseBackup.toString(),
						differentialBaseLsn: h.differentialBase?.toString() ?? null,
					})
				: rows();
		}
		if (sql.includes("bs.type = 'D' AND bs.is_copy_only = 0")) {
			const h = [...this.history]
				.reverse()
				.find((x) => x.type === 'D' && !x.copyOnly && x.database === params.database);
			return h
				? rows({ name: h.name, checkpointLsn: h.checkpoint.toString(), finishedAt: new Date(), device: h.device })
				: rows();
		}
		if (sql.startsWith('BACKUP ')) return this.backup(sql, options);
		if (sql.startsWith('RESTORE HEADERONLY FROM DISK = '))
			return rows(...(await this.header(readQuotedString(sql.slice('RESTORE HEADERONLY FROM DISK = '.length)).value)));
		if (sql.startsWith('RESTORE FILELISTONLY'))
			return rows(
				{ LogicalName: 'PROTHEUS_Data', PhysicalName: 'D:\\MSSQL\\Data\\PROTHEUS.mdf', Type: 'D', FileID: 1 },
				{ LogicalName: 'PROTHEUS_Log', PhysicalName: 'L:\\MSSQL\\Log\\PROTHEUS_log.ldf', Type: 'L', FileID: 2 },
			);
		if (sql.startsWith('RESTORE VERIFYONLY')) {
			await this.header(readQuotedString(sql.slice('RESTORE VERIFYONLY FROM DISK = '.length)).value);
			return {
				recordsets: [],
				messages: [{ number: 3262, severity: 0, message: 'The backup set on file 1 is valid.' }],
			};
		}
		if (sql.startsWith('RESTORE DATABASE ') || sql.startsWith('RESTORE LOG ')) {
			const { name } = readQuotedName(sql.replace(/^RESTORE (DATABASE|LOG) /, ''));
			this.existingDatabases.add(name);
			const moved = FakeSqlServer.movedFiles(sql);
			if (moved.length) this.masterFiles.set(name, moved);
			return {
				recordsets: [],
				messages: [{ number: 3014, severity: 0, message: 'RESTORE DATABASE successfully processed.' }],
			};
		}
		if (sql.includes('FROM sys.master_files'))
			return rows(
				...(this.existingDatabases.has(String(params.name))
					? (this.masterFiles.get(String(params.name)) ?? [])
					: []
				).map((physicalName) => ({ physicalName })),
			);
		if (sql.startsWith('SELECT DB_ID(@name)'))
			return rows({ id: this.existingDatabases.has(String(params.name)) ? 7 : null });
		if (
			sql.startsWith('SELECT state_desc AS state, user_access_desc AS userAccess FROM sys.databases WHERE name = @name')
		) {
			const name = String(params.name);
			return this.existingDatabases.has(name)
				? rows(this.databaseStates.get(name) ?? { state: 'ONLINE', userAccess: 'MULTI_USER' })
				: rows();
		}
		if (sql.startsWith('ALTER DATABASE ')) return this.alterDatabase(sql);
		if (sql.startsWith('DBCC CHECKDB')) return { recordsets: [], messages: [] };
		if (sql.includes("DATABASEPROPERTYEX(@name, 'Collation')"))
			return rows({ collation: this.restored.collation ?? this.database.collation });
		if (sql.startsWith('IF DB_ID(')) {
			const name = readQuotedString(sql.slice('IF DB_ID('.length)).value;
			this.existingDatabases.delete(name);
			this.databaseStates.delete(name);
			this.masterFiles.delete(name);
			this.droppedDatabases.push(name);
			return { recordsets: [], messages: [] };
		}
		const tablesFor = (db: string) => (db === this.database.name ? this.tables : (this.restored.tables ?? this.tables));
		if (sql.startsWith('SELECT s.name AS [schema], t.name AS name, CAST(ISNULL(')) {
			const { name: db } = readQuotedName(sql.slice(sql.indexOf('FROM [') + 5));
			return rows(
				...tablesFor(db).map((t) => ({
					schema: t.schema,
					name: t.name,
					rows: String(t.rows),
					bytes: String(t.rows * 400),
					hasRecno: t.maxRecno !== null,
					hasDeleted: t.hasDeleted ?? t.maxRecno !== null,
				})),
			);
		}
		if (sql.includes('AS maxRecno FROM')) {
			const { name: db } = readQuotedName(sql.slice(sql.indexOf(' FROM [') + 6));
			return rows(
				...tablesFor(db)
					.filter((t) => t.maxRecno !== null)
					.map((t) => ({ schema: t.schema, name: t.name, maxRecno: String(t.maxRecno) })),
			);
		}
		if (sql.includes('AS unqIndexes')) return rows({ ...this.counts, procedures: this.procedures.length });
		if (sql.includes('sys.procedures p JOIN')) return rows(...this.procedures.map((name) => ({ name })));
		throw new Error(`FakeSqlServer: unexpected statement: ${sql}`);
	}

	/** ALTER DATABASE [x] SET SINGLE_USER … / SET MULTI_USER / MODIFY NAME = [y], one or more in a batch. */
	private alterDatabase(sql: string): SqlResult {
		let rest = sql;
		while (rest.startsWith('ALTER DATABASE ')) {
			const { name, rest: after } = readQuotedName(rest.slice('ALTER DATABASE '.length));
			if (!this.existingDatabases.has(name))
				throw sqlError(
					5011,
					`User does not have permission to alter database '${name}', the database does not exist, or the database is not in a state that allows access checks.`,
					14,
				);
			const state = this.databaseStates.get(name) ?? { state: 'ONLINE', userAccess: 'MULTI_USER' };
			const access = /^ SET (SINGLE_USER|RESTRICTED_USER|MULTI_USER)( WITH ROLLBACK IMMEDIATE)?/.exec(after);
			if (access) {
				this.databaseStates.set(name, { ...state, userAccess: access[1] });
				rest = after.slice(access[0].length);
			} else if (after.startsWith(' MODIFY NAME = ')) {
				const { name: to, rest: tail } = readQuotedName(after.slice(' MODIFY NAME = '.length));
				if (this.existingDatabases.has(to))
					throw sqlError(1801, `Database '${to}' already exists. Choose a different database name.`);
				this.existingDatabases.delete(name);
				this.existingDatabases.add(to);
				this.databaseStates.delete(name);
				this.databaseStates.set(to, state);
				this.renames.push({ from: name, to });
				rest = tail;
			} else throw new Error(`FakeSqlServer: unexpected ALTER DATABASE: ${sql}`);
			rest = rest.replace(/^;?\s*/, '');
		}
		if (rest) throw new Error(`FakeSqlServer: unexpected text after ALTER DATABASE: ${rest}`);
		return { recordsets: [], messages: [] };
	}

	private async fileHash(serverPath: string): Promise<string> {
		try {
			return createHash('sha256')
				.update(await readFile(this.toLocal(serverPath)))
				.digest('hex');
		} catch {
			throw sqlError(
				3201,
				`Cannot open backup device '${serverPath}'. Operating system error 2(The system cannot find the file specified.).`,
			);
		}
	}

	/** Makes the file at `serverPath` claim another header (a file that is not the backup recorded). */
	async rewriteHeader(serverPath: string, row: HistoryRow): Promise<void> {
		this.headers.set(await this.fileHash(serverPath), row);
	}

	/** HEADERONLY: LSNs as the mssql driver returns numeric(25,0), i.e. as (rounded) numbers. */
	private async header(serverPath: string): Promise<SqlRow[]> {
		const h = this.headers.get(await this.fileHash(serverPath));
		if (!h)
			throw sqlError(
				3241,
				`The media family on device '${serverPath}' is incorrectly formed. SQL Server cannot process this media family.`,
			);
		return [
			{
				BackupName: h.name,
				BackupType: h.type === 'D' ? 1 : h.type === 'I' ? 5 : 2,
				Position: 1,
				DatabaseName: h.database,
				FirstLSN: Number(h.first),
				LastLSN: Number(h.last),
				CheckpointLSN: Number(h.checkpoint),
				DatabaseBackupLSN: Number(h.databaseBackup),
				DifferentialBaseLSN: h.differentialBase === null ? null : Number(h.differentialBase),
				IsCopyOnly: h.copyOnly,
				Compressed: 1,
				HasBackupChecksums: 1,
				BackupStartDate: new Date('2026-11-26T02:00:00Z'),
				BackupFinishDate: new Date('2026-11-26T02:00:05Z'),
				BackupSize: '1048576',
				CompressedBackupSize: '262144',
			},
		];
	}

	private async backup(sql: string, options: QueryOptions): Promise<SqlResult> {
		const kind = sql.startsWith('BACKUP LOG ') ? 'log' : 'database';
		const { name: database, rest } = readQuotedName(sql.slice(kind === 'log' ? 11 : 16));
		const { value: serverPath, rest: withText } = readQuotedString(rest.slice(' TO DISK = '.length));
		const copyOnly = /\bCOPY_ONLY\b/.test(withText);
		const differential = /\bDIFFERENTIAL\b/.test(withText);
		const backupName = readQuotedString(withText.slice(withText.indexOf("NAME = N'") + 7)).value;
		if (database !== this.database.name)
			throw sqlError(911, `Database '${database}' does not exist. Make sure that the name is entered correctly.`);
		const type: HistoryRow['type'] = kind === 'log' ? 'L' : differential ? 'I' : 'D';
		if (type === 'L' && this.database.recoveryModel === 'SIMPLE')
			throw sqlError(
				4208,
				`The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.`,
			);
		if (type === 'L' && this.lastLogBackupLsn === null)
			throw sqlError(4214, 'BACKUP LOG cannot be performed because there is no current database backup.');
		if (type === 'I' && this.differentialBaseLsn === null)
			throw sqlError(
				3035,
				`Cannot perform a differential backup for database "${database}", because a current database backup does not exist.`,
			);
		const messages: SqlMessage[] = [];
		for (const percent of [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) {
			const m = { number: 3211, severity: 0, message: `${percent} percent processed.` };
			messages.push(m);
			options.onMessage?.(m);
		}
		const local = this.toLocal(serverPath);
		await mkdir(dirname(local), { recursive: true });
		const content = Buffer.concat([Buffer.from('TAPE'), randomBytes(200_000)]);
		await writeFile(local, content, { flag: 'wx' });
		// LSNs move on by whole VLF-ish steps, as on a busy server.
		this.lsn += 1_600_001n;
		const first = type === 'L' ? this.lastLogBackupLsn! : this.lsn + 37n;
		this.lsn += 1_600_001n;
		const last = this.lsn;
		const row: HistoryRow = {
			name: backupName,
			database,
			type,
			first,
			last,
			checkpoint: type === 'L' ? first : first,
			databaseBackup: type === 'D' ? this.lastFullCheckpoint : this.lastFullCheckpoint,
			differentialBase: type === 'I' ? this.differentialBaseLsn : null,
			copyOnly,
			device: serverPath,
		};
		if (type === 'D' && !copyOnly) {
			this.lastFullCheckpoint = row.checkpoint;
			this.differentialBaseLsn = row.checkpoint;
			if (this.database.recoveryModel !== 'SIMPLE' && this.lastLogBackupLsn === null) this.lastLogBackupLsn = first;
		}
		if (type === 'L' && !copyOnly) this.lastLogBackupLsn = last;
		this.history.push(row);
		this.headers.set(createHash('sha256').update(content).digest('hex'), row);
		messages.push({
			number: 3014,
			severity: 0,
			message: `BACKUP ${kind.toUpperCase()} successfully processed 25 pages in 0.010 seconds (19.531 MB/sec).`,
		});
		return { recordsets: [], messages };
	}
}
