import { createReadStream } from 'node:fs';
import { link, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, type SqlServerInventory, type SqlServerSourceFacts } from '../../backup-set/manifest';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import { BackupError, systemErrorCode } from '../../errors';
import { formatBytes } from '../../format';
import type { Logger } from '../../logger';
import type { ChainPosition, DumpOutcome, DumpRequest, PreparedDump, Source } from '../source';
import { describeBackup, LATEST_FULL_SQL } from './backup-header';
import { sqlServerSetsOf } from './chain-members';
import { describeSqlServer, type SqlServerConnection } from './connection';
import { sqlServerError } from './errors';
import { readContents } from './inventory';
import { lsnEquals, planRestoreChain, type ChainMember } from './lsn-chain';
import { connectSqlServer } from './mssql-runner';
import { isSqlError, rowsOf, type SqlRunner } from './runner';
import {
	readDatabaseFacts,
	readServerFacts,
	refuseCloudEditions,
	shortEdition,
	supportsBackupCompression,
	type DatabaseFacts,
	type ServerFacts,
} from './server-facts';
import { checkSharedFolder, serverPathFor, type SharedFolder } from './shared-folder';
import { backupStatement, percentFromMessage, type SqlBackupType } from './tsql';

export interface SqlServerDumpOptions extends SharedFolder {
	/** auto: COMPRESSION where the edition supports it; on: fail where it does not. */
	compression: 'auto' | 'on' | 'off';
	/** COPY_ONLY: does not reset the differential base nor truncate the log (full and log only). */
	copyOnly: boolean;
	/** A differential or log with no full base becomes a full (Ola Hallengren's ChangeBackupType). */
	promoteToFull: boolean;
	/** STATS = N progress messages. */
	statsPercent: number;
}

export const defaultSqlServerDumpOptions: Omit<SqlServerDumpOptions, keyof SharedFolder> = {
	compression: 'auto',
	copyOnly: false,
	promoteToFull: false,
	statsPercent: 10,
};

export type ConnectRunner = (connection: SqlServerConnection) => Promise<SqlRunner>;

const FILE_SUFFIX: Record<SqlBackupType, string> = { full: 'FULL.bak', differential: 'DIFF.bak', log: 'LOG.trn' };
const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');
export const backupFileName = (database: string, type: SqlBackupType) => `${safeName(database)}_${FILE_SUFFIX[type]}`;

interface Plan {
	type: SqlBackupType;
	compression: boolean;
	chain: ChainPosition;
	/** A log's expected FirstLSN (the server's last_log_backup_lsn), checked after the backup. */
	expectedFirstLsn: string | null;
	/** A differential's base: the CheckpointLSN of the full set it must name. */
	expectedBaseCheckpoint: string | null;
}

/**
 * SQL Server: BACKUP DATABASE / LOG written by SQL Server itself into a folder shared with
 * n8n, then hashed from n8n's side into the backup set like any other artifact.
 */
export class SqlServerSource implements Source<SqlServerConnection, SqlServerDumpOptions> {
	readonly engine = 'sqlserver' as const;
	readonly component = 'database' as const;

	constructor(private readonly connect: ConnectRunner = (c) => connectSqlServer(c)) {}

	async prepare(request: DumpRequest<SqlServerConnection, SqlServerDumpOptions>): Promise<PreparedDump> {
		const { connection, log } = request;
		const type = requestedType(request.type);
		const shared = checkSharedFolder(request.options);
		await requireFolder(shared.localFolder);
		if (request.options.copyOnly && type === 'differential')
			throw new BackupError(
				'UNSUPPORTED_OPTION',
				'Copy-only applies to full and log backups; SQL Server ignores it on a differential',
				'Turn "Copy-Only" off for differential backups, or make a copy-only full instead.',
			);
		const runner = await this.connect(connection);
		try {
			const server = await readServerFacts(runner);
			refuseCloudEditions(server, runner.description);
			const database = await readDatabaseFacts(runner, connection.database);
			if (database.state !== 'ONLINE')
				throw new BackupError(
					'DUMP_FAILED',
					`Database "${database.name}" on ${runner.description} is ${database.state}, not ONLINE`,
					'Bring the database online before backing it up.',
				);
			await requirePermission(runner, connection, type);
			const plan = await planBackup(request, runner, server, database, type);
			log.info(
				`Pre-flight passed for ${runner.description}: SQL Server ${server.productVersion} ${shortEdition(server.edition)}, recovery ${database.recoveryModel}, ${plan.type} backup${plan.compression ? ' with compression' : ''}`,
			);
			const pending: PendingCopy = {};
			return {
				chain: plan.chain,
				dump: (set) => this.backup(request, runner, shared, server, database, plan, set, pending),
				close: async () => {
					await runner.close();
					await releaseLogCopy(pending, log);
				},
			};
		} catch (error) {
			await runner.close();
			throw error;
		}
	}

	async inventory(connection: SqlServerConnection): Promise<SqlServerInventory> {
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`A SQL Server inventory is recorded with each backup (it includes the backup's LSNs); ${describeSqlServer(connection)} was not read`,
			'Run TOTVS Dump to record an inventory with its backup.',
		);
	}

	private async backup(
		request: DumpRequest<SqlServerConnection, SqlServerDumpOptions>,
		runner: SqlRunner,
		shared: SharedFolder,
		server: ServerFacts,
		database: DatabaseFacts,
		plan: Plan,
		set: BackupSetWriter,
		pending: PendingCopy,
	): Promise<DumpOutcome> {
		const { connection, options, log } = request;
		const fileName = backupFileName(database.name, plan.type);
		// SQL Server writes into the shared folder itself (the folder its service account was given),
		// never into a set folder n8n created with its own permissions. n8n then moves the file into
		// the set: a rename when the staging folder is on the share, else a streamed, hashed copy.
		const localPath = join(shared.localFolder, `${set.backupId}_${fileName}`);
		const serverPath = serverPathFor(localPath, shared);
		await requireAbsent(localPath);
		const statement = backupStatement({
			database: database.name,
			type: plan.type,
			serverPath,
			name: set.backupId,
			description: `n8n-nodes-totvs-backup ${set.environment}`,
			compression: plan.compression,
			copyOnly: options.copyOnly,
			statsPercent: options.statsPercent,
		});
		log.info(`SQL Server ${runner.description}: ${statement}`);
		try {
			await runner.query(
				statement,
				{},
				{
					timeoutMs: 0,
					signal: request.signal,
					onMessage: (m) => {
						const percent = percentFromMessage(m.message);
						if (percent !== undefined) log.info(`Backup of ${database.name}: ${percent}% (${set.backupId})`);
					},
				},
			);
		} catch (error) {
			throw sqlServerError(error, connection, `BACKUP ${plan.type === 'log' ? 'LOG' : 'DATABASE'} of ${database.name}`);
		}
		// From here a log backup has truncated the log on the server: its file is the only copy of
		// that part of the chain, so a failure keeps the file instead of removing it with the set.
		try {
			const header = await describeBackup(runner, serverPath, set.backupId, database.name);
			if (!header.hasChecksums)
				throw new BackupError(
					'DUMP_FAILED',
					`Backup ${serverPath} has no page checksums although it was made WITH CHECKSUM`,
					'Report this with the SQL Server version.',
				);
			if (plan.expectedFirstLsn && !lsnEquals(header.lsn.first, plan.expectedFirstLsn))
				log.warn(
					`Log backup ${set.backupId} starts at LSN ${header.lsn.first}, not at ${plan.expectedFirstLsn} as expected: another log backup was taken meanwhile (by another tool?), so this chain has a gap`,
				);
			if (plan.expectedBaseCheckpoint && !lsnEquals(header.lsn.databaseBackup, plan.expectedBaseCheckpoint))
				throw new BackupError(
					'BACKUP_CHAIN_BROKEN',
					`Differential ${set.backupId} is based on the full with checkpoint LSN ${header.lsn.databaseBackup}, not on ${plan.chain.baseBackupId}: another full backup was taken meanwhile`,
					'Another tool took a full backup during this run. Take a full backup with this node to start a new chain.',
				);
			const contents = await readContents(runner, database.name);
			// A log backup's file is the only copy of that part of the log: it stays in the share
			// until the set's manifest is written (see releaseLogCopy).
			const keepSource = plan.type === 'log' && !options.copyOnly;
			const artifact = await placeIntoSet(localPath, fileName, set, keepSource);
			if (keepSource) Object.assign(pending, { sharePath: localPath, manifestPath: join(set.folder, MANIFEST_FILE) });
			log.info(`Backup of ${database.name}: ${formatBytes(artifact.bytes)} hashed into ${set.backupId}`);
			const source: SqlServerSourceFacts = {
				host: connection.server,
				port: connection.instance ? null : connection.port,
				instance: connection.instance || null,
				database: database.name,
				user:
					connection.authentication === 'ntlm' && connection.domain
						? `${connection.domain}\\${connection.user}`
						: connection.user,
				serverVersion: server.productVersion,
				edition: server.edition,
				engineEdition: server.engineEdition,
				serverName: server.serverName,
				collation: database.collation,
				recoveryModel: database.recoveryModel,
				compatibilityLevel: database.compatibilityLevel,
				databaseBytes: database.dataBytes,
				serverFolder: shared.serverFolder,
				localFolder: shared.localFolder,
			};
			return {
				source,
				inventory: { ...contents, backup: header },
				compression: { method: plan.compression ? 'sqlserver-native' : 'none', level: null },
				options: {
					copyOnly: options.copyOnly,
					promoteToFull: options.promoteToFull,
					requestedType: request.type,
					statsPercent: options.statsPercent,
					compression: options.compression,
				},
			};
		} catch (caught) {
			const error = isSqlError(caught)
				? sqlServerError(caught, connection, `Reading the new backup ${serverPath}`)
				: caught;
			if (plan.type === 'log' && !options.copyOnly) throw await keepLogBackup(error, localPath);
			// A full, differential or copy-only file of a failed run is nobody's backup: remove it.
			await rm(localPath, { force: true });
			throw error;
		}
	}
}

export const ARTIFACT_KIND = 'sqlserver-backup';

function requestedType(type: string): SqlBackupType {
	if (type === 'full' || type === 'differential' || type === 'log') return type;
	throw new BackupError('INVALID_INPUT', `SQL Server has no "${type}" backups`, 'Choose Full, Differential or Log.');
}

async function requireFolder(folder: string): Promise<void> {
	try {
		if ((await stat(folder)).isDirectory()) return;
	} catch (error) {
		if (systemErrorCode(error) !== 'ENOENT') throw error;
	}
	throw new BackupError(
		'INVALID_INPUT',
		`Backup folder ${folder} (as n8n sees it) does not exist or is not a folder`,
		'Mount the share SQL Server writes its backups to on the n8n host (e.g. mount -t cifs //sqlhost/backup /mnt/sqlbackup) and give that mount point.',
	);
}

async function requireAbsent(path: string): Promise<void> {
	try {
		await stat(path);
	} catch (error) {
		if (systemErrorCode(error) === 'ENOENT') return;
		throw error;
	}
	throw new BackupError(
		'DUMP_FAILED',
		`${path} already exists`,
		'Nothing was overwritten. Remove or rename that file, or use a backup folder of its own for n8n.',
	);
}

async function requirePermission(
	runner: SqlRunner,
	connection: SqlServerConnection,
	type: SqlBackupType,
): Promise<void> {
	const permission = type === 'log' ? 'BACKUP LOG' : 'BACKUP DATABASE';
	const [row] = rowsOf<{ allowed: unknown }>(
		await runner.query("SELECT HAS_PERMS_BY_NAME(@database, N'DATABASE', @permission) AS allowed", {
			database: connection.database,
			permission,
		}),
	);
	if (Number(row?.allowed) !== 1)
		throw new BackupError(
			'PERMISSION_DENIED',
			`${runner.description} has no ${permission} permission on "${connection.database}"`,
			`Add the login's user to db_backupoperator in ${connection.database} (ALTER ROLE db_backupoperator ADD MEMBER ...), or use a sysadmin login.`,
		);
	// RESTORE HEADERONLY, which reads the new file's LSNs, needs CREATE DATABASE permission.
	// Refused only on an explicit 0: a NULL (not determinable) lets the backup try.
	const [headers] = rowsOf<{ anyDatabase: unknown; inMaster: unknown }>(
		await runner.query(
			"SELECT HAS_PERMS_BY_NAME(NULL, NULL, N'CREATE ANY DATABASE') AS anyDatabase, HAS_PERMS_BY_NAME(N'master', N'DATABASE', N'CREATE DATABASE') AS inMaster",
		),
	);
	if (headers && headers.anyDatabase === 0 && headers.inMaster === 0)
		throw new BackupError(
			'PERMISSION_DENIED',
			`${runner.description} may back up but not read backup headers (RESTORE HEADERONLY needs CREATE DATABASE permission)`,
			'Add the login to the dbcreator server role, or in master: CREATE USER [login] FOR LOGIN [login]; GRANT CREATE DATABASE TO [login]. The node reads the header of each new backup to record its LSNs.',
		);
}

/** A log backup's file in the share, removed only once its set is complete. */
interface PendingCopy {
	sharePath?: string;
	manifestPath?: string;
}

/** Filesystems without hard links (SMB/CIFS mounts often) or across mounts: copy instead. */
const NO_LINK = ['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'];

/**
 * Puts SQL Server's file into the set and hashes it: a rename (or, when the share's copy must stay
 * for now, a hard link) on one filesystem, else a streamed, hashed copy.
 */
async function placeIntoSet(localPath: string, fileName: string, set: BackupSetWriter, keepSource: boolean) {
	// A sealed set (issue 12) never holds the plaintext: the file is streamed through encryption.
	if (!set.sealed)
		try {
			await (keepSource ? link : rename)(localPath, set.absolutePath(fileName));
			return await set.addWrittenFile(fileName, ARTIFACT_KIND);
		} catch (error) {
			if (!NO_LINK.includes(systemErrorCode(error) ?? '')) throw error;
		}
	const artifact = await set.writeArtifact(
		fileName,
		ARTIFACT_KIND,
		createReadStream(localPath, { highWaterMark: 1 << 20 }),
	);
	if (!keepSource) await rm(localPath);
	return artifact;
}

/** After the run: the share's copy of a log backup goes once its set is complete, else it stays. */
async function releaseLogCopy(pending: PendingCopy, log: Logger): Promise<void> {
	if (!pending.sharePath || !pending.manifestPath) return;
	try {
		await stat(pending.manifestPath);
	} catch {
		log.warn(
			`The log backup set was not completed; its file was kept as ${pending.sharePath}: keep it until a new full backup is taken, or the log chain cannot be restored`,
		);
		return;
	}
	await rm(pending.sharePath, { force: true });
}

/**
 * A failed log backup set is removed, but its file (the only copy of that log) stays in the
 * shared folder, outside the set; the error says where.
 */
async function keepLogBackup(error: unknown, keptPath: string): Promise<unknown> {
	try {
		await stat(keptPath);
	} catch {
		return error;
	}
	const e =
		error instanceof BackupError
			? error
			: new BackupError('DUMP_FAILED', (error as Error).message, '', { cause: error });
	return new BackupError(
		e.code,
		e.message,
		`${e.hint} The log backup itself succeeded on SQL Server and truncated the log, so its file was kept as ${keptPath}: keep it until a new full backup is taken, or the log chain cannot be restored.`.trim(),
		{ cause: error },
	);
}

async function planBackup(
	request: DumpRequest<SqlServerConnection, SqlServerDumpOptions>,
	runner: SqlRunner,
	server: ServerFacts,
	database: DatabaseFacts,
	type: SqlBackupType,
): Promise<Plan> {
	const { options, log } = request;
	const supported = supportsBackupCompression(server);
	if (options.compression === 'on' && !supported)
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`SQL Server ${server.productVersion} ${shortEdition(server.edition)} cannot compress backups`,
			'Choose Compression "Auto" or "Off": Express and Web editions (and versions before 2008 R2 Standard) have no backup compression.',
		);
	const compression = options.compression === 'on' || (options.compression === 'auto' && supported);
	const full: Plan = {
		type: 'full',
		compression,
		chain: { type: 'full', baseBackupId: null, parentBackupId: null },
		expectedFirstLsn: null,
		expectedBaseCheckpoint: null,
	};
	if (type === 'full') return full;
	if (type === 'log' && database.recoveryModel === 'SIMPLE')
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`Database "${database.name}" on ${runner.description} uses the SIMPLE recovery model, which keeps no log to back up`,
			'Use full and differential backups for this database, or switch it to the FULL recovery model (ALTER DATABASE ... SET RECOVERY FULL) and take a full backup to start the log chain.',
		);
	const where = `${request.stagingFolder}/${request.environment}`;
	const noBase = (why: string): Plan => {
		if (options.promoteToFull) {
			log.warn(
				`No base for a ${type} backup of ${database.name}: ${why}. Making a full backup instead ("Promote to Full When No Base").`,
			);
			return full;
		}
		throw new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`Cannot take a ${type} backup of "${database.name}": ${why}`,
			`Take a full backup with this node first (same staging folder and environment), or turn on "Promote to Full When No Base" to make a full instead.`,
		);
	};
	const members = (
		await sqlServerSetsOf(request.stagingFolder, request.environment, database.name, server.serverName)
	).map((s) => s.member);
	if (type === 'differential') {
		if (!database.differentialBaseLsn) return noBase('the database has never had a full backup');
		const [latest] = rowsOf<{
			name: string | null;
			checkpointLsn: string | null;
			finishedAt: unknown;
			device: string | null;
		}>(await runner.query(LATEST_FULL_SQL, { database: database.name }));
		if (!latest?.checkpointLsn) return noBase('msdb has no record of the full backup a differential would be based on');
		const base = members.find(
			(m) => m.type === 'full' && !m.copyOnly && lsnEquals(m.lsn.checkpoint, latest.checkpointLsn!),
		);
		if (!base)
			return noBase(
				`its newest full backup ("${latest.name ?? ''}" to ${latest.device ?? 'an unknown device'}, checkpoint LSN ${latest.checkpointLsn}) is not a set in ${where}, so a differential on it could not be restored from these sets`,
			);
		return {
			type,
			compression,
			chain: { type, baseBackupId: base.backupId, parentBackupId: base.backupId },
			expectedFirstLsn: null,
			expectedBaseCheckpoint: base.lsn.checkpoint,
		};
	}
	if (!database.lastLogBackupLsn)
		return noBase('its log chain has not started (no full backup since the FULL recovery model was set)');
	const next: ChainMember = {
		backupId: 'the next log backup',
		type: 'log',
		copyOnly: options.copyOnly,
		lsn: {
			first: database.lastLogBackupLsn,
			last: '9'.repeat(25),
			checkpoint: '0',
			databaseBackup: '0',
			differentialBase: null,
		},
	};
	try {
		const chain = planRestoreChain(next, members);
		return {
			type,
			compression,
			chain: { type, baseBackupId: chain[0].backupId, parentBackupId: chain[chain.length - 2].backupId },
			expectedFirstLsn: database.lastLogBackupLsn,
			expectedBaseCheckpoint: null,
		};
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		return noBase(`no set in ${where} reaches LSN ${database.lastLogBackupLsn}, where the next log backup starts`);
	}
}
