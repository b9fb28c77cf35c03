import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import {
	isSealed,
	type Manifest,
	type PostgresInventory,
	type PostgresSourceFacts,
} from '../../../backup-set/manifest';
import { openArtifact } from '../../../backup-set/sealed-read';
import { BackupError, isBackupError } from '../../../errors';
import { formatDuration } from '../../../format';
import type { Logger } from '../../../logger';
import { BoundedTail } from '../../../pipeline/bounded-tail';
import { cancelled } from '../../../restore-shared/cancellation';
import { findClientTool } from '../client-tools';
import { childEnvironment, connect, type PostgresConnection } from '../connection';
import { quoteIdent, readSystemIdentifier } from '../inventory';

/** How pg_restore rebuilds a set in a database. */
export interface PostgresRestoreOptions {
	/** pg_restore --jobs: tables loaded and indexes built in parallel. */
	jobs: number;
	/** Restore object owners (ALTER ... OWNER): the roles must exist on the restore server. */
	owners: boolean;
	/** Restore GRANTs: the roles must exist on the restore server. */
	privileges: boolean;
	/**
	 * Create the database with this encoding instead of the source's (e.g. UTF8 to rehearse a
	 * migration). The checks then show what changes: encoding, and content fingerprints.
	 */
	encoding?: string;
}

export const defaultRestoreOptions: PostgresRestoreOptions = { jobs: 2, owners: false, privileges: false };

/** PostgreSQL truncates identifiers longer than this many bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/** A PostgreSQL set's typed parts; other engines are refused with a clear error. */
export function postgresParts(manifest: Manifest): { source: PostgresSourceFacts; inventory: PostgresInventory } {
	if (manifest.engine !== 'postgres' || manifest.component !== 'database')
		throw new BackupError(
			'UNSUPPORTED_OPTION',
			`Backup set ${manifest.backupId} is a ${manifest.engine} ${manifest.component} set; this operation restores PostgreSQL database sets`,
			'Choose a PostgreSQL database set (its backupId ends in -db and its manifest says "engine": "postgres").',
		);
	return { source: manifest.source as PostgresSourceFacts, inventory: manifest.inventory as PostgresInventory };
}

/**
 * A database name made of a fixed prefix and the set id: lower case, [a-z0-9_] only, at most
 * 63 bytes. Long ids keep their start and get a hash of the whole id, so two sets never share
 * a name.
 */
export function databaseNameFor(prefix: string, backupId: string): string {
	const name = `${prefix}${backupId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
	if (name.length <= MAX_IDENTIFIER_BYTES) return name;
	const hash = createHash('sha256').update(backupId).digest('hex').slice(0, 8);
	return `${name.slice(0, MAX_IDENTIFIER_BYTES - hash.length - 1)}_${hash}`;
}

/** A database name the user typed: any characters PostgreSQL accepts, within its length limit. */
export function checkDatabaseName(name: string): string {
	const trimmed = name.trim();
	if (!trimmed || Buffer.byteLength(trimmed) > MAX_IDENTIFIER_BYTES || trimmed.includes('\0'))
		throw new BackupError(
			'INVALID_INPUT',
			`"${name}" cannot be used as a database name`,
			`Give a name of 1 to ${MAX_IDENTIFIER_BYTES} bytes, for example protheus_restored.`,
		);
	return trimmed;
}

export async function databaseExists(admin: Client, name: string): Promise<boolean> {
	const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
	return rows.length > 0;
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * Creates an empty database for the set as TOTVS requires: from template0, with the source's
 * encoding, collation and ctype (or the encoding override), then the extensions the source had.
 */
export async function createDatabaseForSet(
	admin: Client,
	connection: PostgresConnection,
	name: string,
	source: PostgresSourceFacts,
	options: PostgresRestoreOptions,
	connectTo: (database: string) => Promise<Client>,
): Promise<void> {
	const encoding = options.encoding?.trim() || source.encoding;
	try {
		await admin.query(
			`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${literal(encoding)} LC_COLLATE ${literal(source.collation)} LC_CTYPE ${literal(source.ctype)}`,
		);
	} catch (error) {
		const detail = (error as Error).message;
		throw new BackupError(
			'RESTORE_FAILED',
			`Cannot create database "${name}" on ${connection.host}:${connection.port} with encoding ${encoding}, collation ${source.collation}, ctype ${source.ctype}: ${detail}`,
			/permission denied/i.test(detail)
				? `Give the restore user the CREATEDB privilege (ALTER ROLE "${connection.user}" CREATEDB), or use another user in the restore credential.`
				: /locale|collation/i.test(detail)
					? `Install the locale ${source.collation} on the restore server (Debian: dpkg-reconfigure locales) and restart PostgreSQL; a Protheus database must keep the source's collation.`
					: "Check the restore server and the credential's user.",
			{ cause: error },
		);
	}
	const extensions = source.extensions.filter((e) => e.name !== 'plpgsql');
	if (!extensions.length) return;
	const client = await connectTo(name);
	try {
		for (const extension of extensions) {
			try {
				await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(extension.name)}`);
			} catch (error) {
				throw new BackupError(
					'RESTORE_FAILED',
					`Extension "${extension.name}" (version ${extension.version} at the source) cannot be created on ${connection.host}:${connection.port}: ${(error as Error).message}`,
					'Install it on the restore server (uuid-ossp and most others: the postgresql-contrib package), or restore as a user allowed to create it (a superuser).',
					{ cause: error },
				);
			}
		}
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** Drops a database even with sessions connected (PostgreSQL 13+ FORCE; older: terminate them first). */
export async function dropDatabase(admin: Client, name: string): Promise<void> {
	const { rows } = await admin.query<{ num: string }>("SELECT current_setting('server_version_num') AS num");
	if (Number(rows[0].num) >= 130000) {
		await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
		return;
	}
	await admin.query(
		'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
		[name],
	);
	await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/** The pg_dump archive of a set: the custom-format file, or the folder of a directory-format dump. */
export function archivePathOf(folder: string, manifest: Manifest): string {
	const custom = manifest.artifacts.find((a) => a.kind === 'pg_dump-custom');
	const directory = manifest.artifacts.find((a) => a.kind === 'pg_dump-directory');
	const relative = custom?.path ?? directory?.path.split('/')[0];
	if (!relative)
		throw new BackupError(
			'MANIFEST_INVALID',
			`Backup set ${manifest.backupId} lists no pg_dump archive`,
			'Choose a PostgreSQL database set.',
		);
	return join(folder, ...relative.split('/'));
}

/**
 * For a sealed set, the plaintext of its archive as pg_restore's input (decrypted on the fly);
 * undefined for a set in the clear (pg_restore reads the file itself).
 */
export function sealedArchiveInput(folder: string, manifest: Manifest): (() => Readable) | undefined {
	if (!isSealed(manifest)) return undefined;
	const custom = manifest.artifacts.find((a) => a.kind === 'pg_dump-custom');
	if (!custom)
		throw new BackupError(
			'MANIFEST_INVALID',
			`Backup set ${manifest.backupId} is sealed but lists no custom-format pg_dump archive`,
			'Sealed PostgreSQL sets hold one pg_dump -Fc archive; this set was not made by TOTVS Dump.',
		);
	return () => openArtifact(folder, manifest, custom);
}

export interface PgRestoreRun {
	connection: PostgresConnection;
	database: string;
	archive: string;
	/**
	 * A sealed archive: its plaintext, decrypted on the fly into pg_restore's standard input
	 * (never written to disk). A pipe is not seekable, so pg_restore runs with one job.
	 */
	input?: () => Readable;
	options: PostgresRestoreOptions;
	log: Logger;
	signal?: AbortSignal;
}

/**
 * Runs `pg_restore --exit-on-error -j N` into an existing database (no shell; the password in
 * a 0600 PGPASSFILE, never in argv). Cancelling kills pg_restore (it stops its workers) and
 * rejects with CANCELLED; the caller drops the database.
 */
export async function runPgRestore(run: PgRestoreRun): Promise<{ ms: number; version: string }> {
	const { connection, database, options, log, signal } = run;
	const pgRestore = await findClientTool('pg_restore', connection.binFolder);
	const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
	const args = [
		`--dbname=dbname='${escape(database)}'`,
		'--exit-on-error',
		'--no-password',
		'--verbose',
		`--jobs=${run.input ? 1 : Math.max(1, Math.floor(options.jobs))}`,
		...(options.owners ? [] : ['--no-owner']),
		...(options.privileges ? [] : ['--no-privileges']),
		...(run.input ? [] : [run.archive]),
	];
	if (run.input && options.jobs > 1)
		log.info(
			`pg_restore reads the sealed archive ${run.archive} decrypted on the fly from a pipe, with one job (parallel jobs need a seekable file, and no plaintext copy is written)`,
		);
	if (signal?.aborted) throw cancelled(database);
	const started = Date.now();
	const { env, dispose } = await childEnvironment(connection, database);
	try {
		const child = spawn(pgRestore.path, args, { env, stdio: [run.input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
		// The decrypting stream's own failure (wrong key, damaged ciphertext) is the cause to report.
		let inputError: unknown;
		if (run.input && child.stdin) {
			const stdin = child.stdin;
			stdin.on('error', () => undefined); // EPIPE when pg_restore stops: its exit code says why
			let input: Readable;
			try {
				input = run.input();
			} catch (error) {
				child.kill('SIGTERM');
				throw error;
			}
			pipeline(input, stdin).catch((error: unknown) => {
				if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
				inputError ??= error;
				child.kill('SIGTERM');
			});
		}
		const stderr = new BoundedTail();
		let tables = 0;
		child.stderr!.on('data', (chunk: Buffer) => {
			stderr.push(chunk);
			tables += chunk.toString('utf8').match(/processing data for table/g)?.length ?? 0;
		});
		const onAbort = () => child.kill('SIGTERM');
		signal?.addEventListener('abort', onAbort, { once: true });
		const progress = setInterval(
			() =>
				log.info(
					`pg_restore into ${database}: data of ${tables} tables loaded, ${formatDuration(Date.now() - started)}`,
				),
			30_000,
		);
		try {
			const code = await new Promise<number | null>((resolve, reject) => {
				child.on('error', reject);
				child.on('close', (exitCode, killedBy) => resolve(killedBy ? null : exitCode));
			});
			if (signal?.aborted) throw cancelled(database);
			if (inputError && isBackupError(inputError))
				throw new BackupError('RESTORE_FAILED', inputError.message, inputError.hint, { cause: inputError });
			if (inputError) throw inputError;
			if (code !== 0)
				throw new BackupError(
					'RESTORE_FAILED',
					`pg_restore ${pgRestore.version} into "${database}" on ${connection.host}:${connection.port} failed (exit code ${code ?? 'killed'}): ${stderr.lastLines(6)}`,
					"Read pg_restore's message above: a missing role (turn off owners/privileges), a missing extension or locale on the restore server, a full disk, or a damaged dump.",
				);
		} finally {
			clearInterval(progress);
			signal?.removeEventListener('abort', onAbort);
		}
		log.info(`pg_restore into ${database}: done in ${formatDuration(Date.now() - started)} (${tables} tables)`);
		return { ms: Date.now() - started, version: pgRestore.version };
	} finally {
		await dispose();
	}
}

/** The loopback names of one machine, so "localhost" and "127.0.0.1" are recognised as the same host. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

async function addressesOf(host: string): Promise<Set<string>> {
	const lower = host.trim().toLowerCase();
	if (LOOPBACK.has(lower)) return new Set(['loopback']);
	try {
		const found = await lookup(lower, { all: true });
		return new Set(found.map((a) => (LOOPBACK.has(a.address) ? 'loopback' : a.address)).concat(lower));
	} catch {
		return new Set([lower]);
	}
}

/**
 * True when the restore server is the server the set was taken from: the same cluster identity
 * (system_identifier, whatever address, port or pooler reached it), or the same port and a
 * shared address. Either is enough: a false "yes" costs one more switch, a false "no" could
 * let Replace drop production (a cluster re-created at the same address is still production).
 */
export async function isSourceServer(source: PostgresSourceFacts, connection: PostgresConnection): Promise<boolean> {
	if (source.systemIdentifier) {
		const restoreServer = await systemIdentifierOf(connection);
		if (restoreServer === source.systemIdentifier) return true;
	}
	if (connection.port !== source.port) return false;
	const [a, b] = await Promise.all([addressesOf(source.host), addressesOf(connection.host)]);
	return [...a].some((address) => b.has(address));
}

/** The restore server's identity; undefined when it cannot be read (the address comparison decides then). */
async function systemIdentifierOf(connection: PostgresConnection): Promise<string | undefined> {
	let client: Client | undefined;
	try {
		client = await connect(connection);
		return await readSystemIdentifier(client);
	} catch {
		return undefined;
	} finally {
		await client?.end().catch(() => undefined);
	}
}

/** True when `database` on the restore server is the database the set was taken from. */
export async function isSourceDatabase(
	source: PostgresSourceFacts,
	connection: PostgresConnection,
	database: string,
): Promise<boolean> {
	const names = [source.database, source.serverDatabase].filter((n): n is string => !!n);
	return names.includes(database) && (await isSourceServer(source, connection));
}
