import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import type { Client } from 'pg';
import {
	SEALED_SUFFIX,
	type CompressionMethod,
	type PostgresInventory,
	type PostgresSourceFacts,
} from '../../backup-set/manifest';
import { currentSetKeys } from '../../backup-set/set-keys';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import { BackupError } from '../../errors';
import { formatBytes } from '../../format';
import { freeBytes, stagingError } from '../../location/staging-folder';
import type { Logger } from '../../logger';
import { BoundedTail } from '../../pipeline/bounded-tail';
import type { DumpOutcome, DumpRequest, PreparedDump, Source } from '../source';
import { readArchiveToc, readStreamedArchiveToc, tableKey, type ArchiveToc } from './archive';
import { findClientTool, requireClientForServer, type ClientToolInfo } from './client-tools';
import {
	childEnvironment,
	connect,
	connectionFields,
	describeConnection,
	rejectNul,
	type PostgresConnection,
} from './connection';
import {
	countTables,
	listTables,
	readSourceFacts,
	takeInventory,
	type InventoryOptions,
	type TableCandidate,
} from './inventory';
import { isLockTimeout, isPgDumpLockFailure, limitLockWait, lockWaitArguments, lockWaitError } from './lock-wait';
import { selectionArguments, type TableSelection } from './name-patterns';

export interface PostgresDumpOptions {
	/** custom: one file (-Fc); directory: one file per table, dumped by `jobs` workers (-Fd -j). */
	format: 'custom' | 'directory';
	jobs: number;
	compression: CompressionMethod;
	/** null: pg_dump's default level. */
	compressionLevel: number | null;
	selection: TableSelection;
	exactCountMaxBytes: number;
	fingerprintRows: number;
	/** Refuse to start when the staging disk clearly cannot hold the dump. */
	checkFreeSpace: boolean;
	/** How long pg_dump and our own queries wait for a table lock before giving up; 0 waits forever. */
	lockWaitTimeoutSeconds: number;
}

export const defaultDumpOptions: PostgresDumpOptions = {
	format: 'custom',
	jobs: 2,
	compression: 'gzip',
	compressionLevel: null,
	selection: { includeSchemas: [], excludeSchemas: [], includeTables: [], excludeTables: [] },
	exactCountMaxBytes: 0,
	fingerprintRows: 1000,
	checkFreeSpace: true,
	lockWaitTimeoutSeconds: 600,
};

/** Compressed Protheus dumps are rarely above a quarter of the tables' size (char padding compresses well). */
const COMPRESSED_SIZE_RATIO = 0.25;
const PROGRESS_INTERVAL_MS = 10_000;

export function compressionArgument(pgDump: ClientToolInfo, method: CompressionMethod, level: number | null): string[] {
	if (method === 'none') return ['--compress=0'];
	if (method !== 'gzip' && pgDump.major < 16)
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`${method} compression needs pg_dump 16 or newer; this pg_dump is ${pgDump.version}`,
			'Choose gzip compression, or install the PostgreSQL 16+ client tools on the n8n host.',
		);
	if (pgDump.major >= 16) return [`--compress=${method}${level === null ? '' : `:${level}`}`];
	return level === null ? [] : [`--compress=${level}`];
}

const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

export class PostgresSource implements Source<PostgresConnection, PostgresDumpOptions> {
	readonly engine = 'postgres' as const;
	readonly component = 'database' as const;

	async prepare(request: DumpRequest<PostgresConnection, PostgresDumpOptions>): Promise<PreparedDump> {
		const { connection, options, log } = request;
		rejectNul({
			...connectionFields(connection),
			'Include Schemas': options.selection.includeSchemas,
			'Exclude Schemas': options.selection.excludeSchemas,
			'Include Tables': options.selection.includeTables,
			'Exclude Tables': options.selection.excludeTables,
		});
		if (!Number.isFinite(options.lockWaitTimeoutSeconds) || options.lockWaitTimeoutSeconds < 0)
			throw new BackupError(
				'INVALID_INPUT',
				`Lock Wait Timeout must be 0 or more seconds, got ${options.lockWaitTimeoutSeconds}`,
				'Give the seconds pg_dump may wait for a table lock (0 waits forever). Nothing was run.',
			);
		if (options.format === 'directory' && currentSetKeys()?.recipients?.length)
			throw new BackupError(
				'INVALID_INPUT',
				'Encryption is on, and the Directory format (pg_dump -Fd) cannot be sealed: pg_dump writes its files itself, so they would lie on disk in the clear before being encrypted. Nothing was written.',
				'Use Format "Custom (One File)" (pg_dump -Fc) for sealed sets: its output streams through the encryption and never touches the disk in the clear.',
			);
		if (options.format === 'custom' && options.jobs > 1)
			log.debug('Parallel jobs apply to the directory format only; the custom format is dumped by one process');
		const pgDump = await findClientTool('pg_dump', connection.binFolder);
		const pgRestore = await findClientTool('pg_restore', connection.binFolder);
		compressionArgument(pgDump, options.compression, options.compressionLevel);
		const client = await connect(connection);
		try {
			await limitLockWait(client, options.lockWaitTimeoutSeconds);
			const facts = await readSourceFacts(client, connection, pgDump.version);
			const serverMajor = Math.floor(facts.serverVersionNum / 10000);
			requireClientForServer(pgDump, 'pg_dump', serverMajor, facts.serverVersion);
			const tables = await listTables(client, options.selection);
			if (!tables.length)
				throw new BackupError(
					'INVALID_INPUT',
					`No tables to back up in ${describeConnection(connection)} with the given schema and table filters`,
					'Check the include/exclude patterns (pg_dump rules: * and ? are wildcards, names are lower-case unless quoted).',
				);
			await checkPrivileges(client, tables, connection);
			if (options.checkFreeSpace) await checkSpace(request.stagingFolder, tables, options.compression);
			log.info(
				`Pre-flight passed for ${describeConnection(connection)}: PostgreSQL ${facts.serverVersion}, ${tables.length} tables, pg_dump ${pgDump.version} (${pgDump.path})`,
			);
			return {
				dump: (set) =>
					this.dumpInSnapshot(client, request, facts, tables, pgDump, pgRestore, set).catch(async (error) => {
						throw await explainLockTimeout(error, request);
					}),
				close: () => client.end().catch(() => undefined),
			};
		} catch (error) {
			await client.end().catch(() => undefined);
			throw await explainLockTimeout(error, request);
		}
	}

	async inventory(connection: PostgresConnection, options: PostgresDumpOptions): Promise<PostgresInventory> {
		const client = await connect(connection);
		try {
			await limitLockWait(client, options.lockWaitTimeoutSeconds);
			await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
			const tables = await listTables(client, options.selection);
			const inventory = await takeInventory(client, tables, inventoryOptions(options));
			inventory.snapshotConsistent = true;
			await client.query('COMMIT');
			return inventory;
		} finally {
			await client.end().catch(() => undefined);
		}
	}

	/**
	 * pg_dump and the inventory read one snapshot: this transaction exports it, pg_dump imports
	 * it (--snapshot), and the inventory runs here meanwhile. Row counts in the manifest are
	 * therefore exactly the rows in the dump, even while Protheus keeps writing.
	 */
	private async dumpInSnapshot(
		client: Client,
		request: DumpRequest<PostgresConnection, PostgresDumpOptions>,
		facts: PostgresSourceFacts,
		tables: TableCandidate[],
		pgDump: ClientToolInfo,
		pgRestore: ClientToolInfo,
		set: BackupSetWriter,
	): Promise<DumpOutcome> {
		const { options, log } = request;
		await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
		const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
		const archive = `${safeName(facts.database)}.${options.format === 'custom' ? 'dump' : 'dir'}`;
		// One controller stops pg_dump both on cancellation and when the inventory fails.
		const stop = new AbortController();
		const cancel = () => stop.abort();
		request.signal?.addEventListener('abort', cancel, { once: true });
		try {
			const dumping = runPgDump(pgDump, request, stop.signal, rows[0].snapshot, archive, tables.length, set, pgRestore);
			dumping.catch(() => stop.abort()); // a failed dump makes the inventory moot
			let inventory: PostgresInventory;
			try {
				inventory = await takeInventory(client, tables, inventoryOptions(options));
			} catch (error) {
				stop.abort();
				await dumping.catch(() => undefined);
				throw error;
			}
			const sealedToc = await dumping;
			// pg_dump wrote and closed the archive itself: hash it now, before anything else touches it.
			// (A sealed archive streamed through the set writer, which hashed it as it went.)
			if (set.sealed) log.debug(`pg_dump ${archive}: encrypted as it streamed`);
			else if (options.format === 'custom') await set.addWrittenFile(archive, 'pg_dump-custom');
			else {
				for (const file of await walk(set.absolutePath(archive))) {
					await set.addWrittenFile(
						`${archive}/${relative(set.absolutePath(archive), file).split('\\').join('/')}`,
						'pg_dump-directory',
					);
				}
			}
			await reconcileWithArchive(
				client,
				inventory,
				tables,
				options,
				async () => sealedToc ?? readArchiveToc(pgRestore.path, set.absolutePath(archive)),
				log,
			);
			await client.query('COMMIT');
			return {
				source: facts,
				inventory,
				compression: { method: options.compression, level: options.compressionLevel },
				options: {
					format: options.format,
					jobs: options.format === 'directory' ? options.jobs : 1,
					...options.selection,
					exactCountMaxBytes: options.exactCountMaxBytes,
					fingerprintRows: options.fingerprintRows,
				},
			};
		} finally {
			request.signal?.removeEventListener('abort', cancel);
		}
	}
}

/** Our own query gave up on a lock (SET lock_timeout): say who held it, as for pg_dump. */
async function explainLockTimeout(
	error: unknown,
	request: DumpRequest<PostgresConnection, PostgresDumpOptions>,
): Promise<unknown> {
	if (!isLockTimeout(error)) return error;
	return lockWaitError(request.connection, request.options.lockWaitTimeoutSeconds, '', error);
}

function inventoryOptions(options: PostgresDumpOptions): InventoryOptions {
	return {
		selection: options.selection,
		exactCountMaxBytes: options.exactCountMaxBytes,
		fingerprintRows: options.fingerprintRows,
	};
}

/**
 * Makes the inventory describe exactly the tables whose data is in the archive, as its own
 * table of contents says (pattern rules are subtle; the archive is the truth). Still inside
 * the snapshot, so counts of tables added here are exact too.
 */
async function reconcileWithArchive(
	client: Client,
	inventory: PostgresInventory,
	tables: TableCandidate[],
	options: PostgresDumpOptions,
	readToc: () => Promise<ArchiveToc>,
	log: Logger,
) {
	const toc = await readToc();
	const dropped = inventory.tables.filter((t) => !toc.tableData.has(tableKey(t.schema, t.name)));
	if (dropped.length) {
		log.warn(
			`Tables without data in the dump, left out of the inventory: ${dropped.map((t) => tableKey(t.schema, t.name)).join(', ')}`,
		);
		inventory.tables = inventory.tables.filter((t) => toc.tableData.has(tableKey(t.schema, t.name)));
	}
	const known = new Set(inventory.tables.map((t) => tableKey(t.schema, t.name)));
	const missing = [...toc.tableData].filter((key) => !known.has(key));
	if (missing.length) {
		const everything = await listTables(client, {
			includeSchemas: [],
			excludeSchemas: [],
			includeTables: [],
			excludeTables: [],
		});
		const extra = everything.filter((t) => missing.includes(tableKey(t.schema, t.name)));
		inventory.tables.push(...(await countTables(client, extra, options.exactCountMaxBytes)));
		tables.push(...extra);
	}
	inventory.snapshotConsistent = true;
}

/** Spawns pg_dump (no shell; connection and password through the environment only). */
async function runPgDump(
	pgDump: ClientToolInfo,
	request: DumpRequest<PostgresConnection, PostgresDumpOptions>,
	signal: AbortSignal,
	snapshot: string,
	archive: string,
	tableCount: number,
	set: BackupSetWriter,
	pgRestore: ClientToolInfo,
): Promise<Promise<ArchiveToc> | undefined> {
	const { options } = request;
	const args = [
		`--format=${options.format}`,
		`--snapshot=${snapshot}`,
		'--no-password',
		'--verbose',
		...lockWaitArguments(options.lockWaitTimeoutSeconds),
		...compressionArgument(pgDump, options.compression, options.compressionLevel),
		...selectionArguments(options.selection),
	];
	// pg_dump writes the archive itself (-f), as plain `pg_dump -Fc -f` does: a seekable file gets
	// data offsets in its table of contents (faster parallel pg_restore), and no pipe sits between
	// pg_dump and the disk. The caller hashes the files once pg_dump has closed them.
	// A sealed set is the exception: pg_dump writes to its standard output, which streams through
	// the set writer's encryption (the plaintext never touches the disk); pg_restore --list reads
	// the archive's table of contents from the same stream. Such an archive has no data offsets:
	// pg_restore reads it in one pass (see restore/pg-restore.ts).
	let sealedToc: Promise<ArchiveToc> | undefined;
	let consume: ((stdout: Readable) => Promise<unknown>) | undefined;
	if (set.sealed) {
		consume = (stdout) => {
			const { tee, toc } = readStreamedArchiveToc(pgRestore.path, `the sealed archive ${archive}`);
			sealedToc = toc;
			toc.catch(() => undefined); // awaited by the caller
			return set.writeArtifact(archive, 'pg_dump-custom', stdout.pipe(tee));
		};
	} else args.push(`--file=${set.absolutePath(archive)}`);
	if (options.format === 'directory') args.push(`--jobs=${Math.max(1, options.jobs)}`);
	const { env, dispose } = await childEnvironment(request.connection);
	// From here on the password file exists: every path, a synchronous spawn error included, removes it.
	try {
		await superviseDump(pgDump, args, env, request, signal, archive, tableCount, set, consume);
	} finally {
		await dispose();
	}
	return sealedToc;
}

async function superviseDump(
	pgDump: ClientToolInfo,
	args: string[],
	env: NodeJS.ProcessEnv,
	request: DumpRequest<PostgresConnection, PostgresDumpOptions>,
	signal: AbortSignal,
	archive: string,
	tableCount: number,
	set: BackupSetWriter,
	consume?: (stdout: Readable) => Promise<unknown>,
): Promise<void> {
	const { log } = request;
	const child = spawn(pgDump.path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
	const stderr = new BoundedTail();
	let tablesDone = 0;
	child.stderr.on('data', (chunk: Buffer) => {
		stderr.push(chunk);
		tablesDone += chunk.toString('utf8').match(/dumping contents of table/g)?.length ?? 0;
	});
	const onAbort = () => child.kill('SIGTERM');
	signal.addEventListener('abort', onAbort, { once: true });
	const exited = new Promise<number | null>((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code, killedBy) => resolve(killedBy ? null : code));
	});
	const started = Date.now();
	const progress = setInterval(() => {
		void stat(set.absolutePath(set.sealed ? `${archive}${SEALED_SUFFIX}` : archive))
			.then((info) => (info.isFile() ? info.size : undefined))
			.catch(() => undefined)
			.then((bytes) =>
				log.info(
					`pg_dump ${request.connection.database}: ${bytes === undefined ? '' : `${formatBytes(bytes)} written, `}${tablesDone}/${tableCount} tables, ${Math.round((Date.now() - started) / 1000)} s`,
				),
			);
	}, PROGRESS_INTERVAL_MS);
	let consumed: Promise<unknown> = Promise.resolve();
	if (consume) {
		// A write that fails (disk full) stops pg_dump, which would otherwise block on a full pipe.
		consumed = consume(child.stdout).catch((error: unknown) => {
			child.kill('SIGTERM');
			throw error;
		});
		consumed.catch(() => undefined);
	} else child.stdout.resume();
	try {
		const code = await exited;
		if (code === 0 || code === null) await consumed;
		if (signal.aborted)
			throw new BackupError(
				'DUMP_FAILED',
				'The backup was stopped before pg_dump finished',
				'Nothing was kept: the unfinished set was removed.',
			);
		if (code !== 0 && /No space left on device|Disk quota exceeded/.test(stderr.text()))
			throw stagingError(Object.assign(new Error(stderr.lastLines(2)), { code: 'ENOSPC' }), set.root, 'writing to');
		if (code !== 0 && isPgDumpLockFailure(stderr.text()))
			throw await lockWaitError(
				request.connection,
				request.options.lockWaitTimeoutSeconds,
				`pg_dump said: ${stderr.lastLines(3)}`,
			);
		if (code !== 0)
			throw new BackupError(
				'DUMP_FAILED',
				`pg_dump failed (exit code ${code ?? 'killed'}): ${stderr.lastLines(6)}`,
				"Read pg_dump's message above. Common causes: a lock held for too long, a permission missing on an object, the server closing the connection.",
			);
		log.info(`pg_dump ${request.connection.database}: finished, ${tablesDone}/${tableCount} tables`);
	} finally {
		clearInterval(progress);
		signal.removeEventListener('abort', onAbort);
	}
}

async function checkPrivileges(client: Client, tables: TableCandidate[], connection: PostgresConnection) {
	const { rows } = await client.query<{ name: string }>(
		`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE (c.oid = ANY($1) OR (c.relkind = 'S' AND n.oid IN (SELECT relnamespace FROM pg_class WHERE oid = ANY($1))))
		    AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1 LIMIT 11`,
		[tables.map((t) => t.oid)],
	);
	if (rows.length)
		throw new BackupError(
			'PERMISSION_DENIED',
			`User "${connection.user}" cannot read ${rows
				.slice(0, 10)
				.map((r) => r.name)
				.join(', ')}${rows.length > 10 ? ' and more' : ''}`,
			`Grant read access to the backup user, e.g. GRANT pg_read_all_data TO "${connection.user}" (PostgreSQL 14+), or GRANT SELECT ON ALL TABLES/SEQUENCES IN SCHEMA ... , or use the database owner.`,
		);
}

async function checkSpace(stagingFolder: string, tables: TableCandidate[], compression: CompressionMethod) {
	const tableBytes = tables.reduce((sum, t) => sum + t.bytes, 0);
	const needed = Math.ceil(tableBytes * (compression === 'none' ? 1 : COMPRESSED_SIZE_RATIO));
	const free = await freeBytes(stagingFolder);
	if (free < needed)
		throw new BackupError(
			'DISK_FULL',
			`Staging folder ${stagingFolder} has ${formatBytes(free)} free; the dump is estimated at ${formatBytes(needed)} (tables: ${formatBytes(tableBytes)})`,
			'Free space, choose a staging folder on a larger disk, or turn off "Check Free Space" if you know the dump compresses better than the estimate. Nothing was written.',
		);
}

async function walk(folder: string): Promise<string[]> {
	const out: string[] = [];
	for (const entry of await readdir(folder, { withFileTypes: true })) {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) out.push(...(await walk(path)));
		else out.push(path);
	}
	return out.sort();
}
