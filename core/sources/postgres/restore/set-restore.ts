import type { Client } from 'pg';
import { readSet } from '../../../backup-set/catalog';
import { isSealedWithoutKeys, type Manifest } from '../../../backup-set/manifest';
import { identitiesFor } from '../../../backup-set/sealed-read';
import { BackupError } from '../../../errors';
import { formatDuration } from '../../../format';
import type { Logger } from '../../../logger';
import { connect, type PostgresConnection } from '../connection';
import { quoteIdent } from '../inventory';
import { defaultDumpOptions, PostgresSource } from '../postgres-source';
import {
	archivePathOf,
	checkDatabaseName,
	createDatabaseForSet,
	databaseExists,
	databaseNameFor,
	dropDatabase,
	isSourceDatabase,
	isSourceServer,
	postgresParts,
	runPgRestore,
	sealedArchiveInput,
	type PostgresRestoreOptions,
} from './pg-restore';
import { check, type CheckResult } from '../../../checks/check';
import { verifySetFolder } from '../../../checks/set-verification';
import { cancelled } from '../../../restore-shared/cancellation';
import { SCRATCH_PREFIX, STAGING_PREFIX } from '../../../restore-shared/prefixes';
import { notRestored, type RealRestoreReport, type RestoreReport } from '../../../restore-shared/report';
import { checkPostgresSet } from '../verify';
import { compareWithManifest, readRestoredFacts } from './checks';

export interface RestoreRequest {
	/** The set folder (holding manifest.json). */
	folder: string;
	/** The restore server. Its database is only connected to, for CREATE / DROP DATABASE. */
	connection: PostgresConnection;
	restore: PostgresRestoreOptions;
	/** Days the newest business date may lie before the backup; 0 turns the check off. */
	freshnessDays: number;
	/** Keep the restored database when the restore or a check fails, for investigation. */
	keepOnFailure: boolean;
	log: Logger;
	/** n8n's execution cancel signal: pg_restore is stopped and the database dropped. */
	signal?: AbortSignal;
}

export interface RealRestoreRequest extends RestoreRequest {
	target: string;
	/** Replace a target database that exists (it is dropped only after the new copy passed every check). */
	replaceExisting: boolean;
	/** Also allow the target to be the database the set was taken from (with replaceExisting). */
	allowSourceDatabase: boolean;
}

/**
 * Restore Test: verify the set's artifacts, restore it into a scratch database named
 * totvs_rt_<set id>, compare the database with the manifest, drop the database. Failed checks
 * are reported, not thrown; errors of the environment (no server, no privilege) are thrown.
 */
export async function runRestoreTest(request: RestoreRequest): Promise<RestoreReport> {
	const { manifest, verification } = await verifyPostgresSet(request.folder, request.connection);
	if (!manifest || !verification.ok) return notRestored(manifest, verification.checks);
	// A sealed set without its identity: said before any database is created, naming the keys it needs.
	if (isSealedWithoutKeys(manifest)) identitiesFor(manifest);
	const { source } = postgresParts(manifest);
	const onSourceServer = await isSourceServer(source, request.connection);
	if (onSourceServer)
		request.log.warn(
			`Restore test of ${manifest.backupId} runs on the production server ${source.host}:${source.port} (a scratch database beside "${source.database}", which is not touched): it competes with Protheus for disk and CPU. A separate restore server is better.`,
		);
	const scratch = databaseNameFor(SCRATCH_PREFIX, manifest.backupId);
	const admin = await connectAdmin(request.connection, [scratch]);
	try {
		if (await databaseExists(admin, scratch))
			throw new BackupError(
				'TARGET_EXISTS',
				`Scratch database "${scratch}" already exists on ${request.connection.host}:${request.connection.port}`,
				'It was kept by an earlier test of this set ("Keep Database on Failure") or another test of this set is running. Look at it, then drop it (DROP DATABASE ...) and run again.',
			);
		const outcome = await restoreAndCheck(request, manifest, admin, scratch, verification.checks);
		const keep = !outcome.passed && request.keepOnFailure;
		if (!keep) await dropOrReport(admin, scratch, outcome.checks, request.log);
		return { ...outcome, passed: outcome.checks.every((c) => c.ok), database: scratch, kept: keep, onSourceServer };
	} finally {
		await admin.end().catch(() => undefined);
	}
}

/**
 * Restore (real recovery) into `target`. Guarded: the target must not exist unless
 * replaceExisting; the set's own source database also needs allowSourceDatabase. The set is
 * built under a staging name and checked first; an existing target is dropped only then, and
 * the staged copy renamed to it, so a failed restore never costs the user their database.
 */
export async function runRestore(request: RealRestoreRequest): Promise<RealRestoreReport> {
	const target = checkDatabaseName(request.target);
	// The guards first (cheap): nobody waits for a whole dump to be hashed to hear "no".
	const manifest = await readSet(request.folder);
	if (isSealedWithoutKeys(manifest)) identitiesFor(manifest);
	const { source } = postgresParts(manifest);
	const where = `${request.connection.host}:${request.connection.port}`;
	if (
		(await isSourceDatabase(source, request.connection, target)) &&
		!(request.replaceExisting && request.allowSourceDatabase)
	)
		throw new BackupError(
			'TARGET_IS_SOURCE',
			`"${target}" on ${where} is the database backup set ${manifest.backupId} was taken from`,
			'Restoring over the source database replaces production data. If that is really what you want, turn on both "Replace Existing Database" and "Allow Replacing the Source Database"; otherwise choose another target name.',
		);
	const staging = databaseNameFor(STAGING_PREFIX, manifest.backupId);
	const admin = await connectAdmin(request.connection, [target, staging]);
	try {
		const exists = await databaseExists(admin, target);
		if (exists && !request.replaceExisting)
			throw new BackupError(
				'TARGET_EXISTS',
				`Database "${target}" already exists on ${where}`,
				'Choose a new target name, or turn on "Replace Existing Database" to replace it (it is dropped only after the restored copy passed every check).',
			);
		if (await databaseExists(admin, staging))
			throw new BackupError(
				'TARGET_EXISTS',
				`Staging database "${staging}" already exists on ${where}`,
				'An earlier restore of this set was kept on failure or is still running. Look at it, drop it, and run again.',
			);
		const { verification } = await verifyPostgresSet(request.folder, request.connection);
		if (!verification.ok) return { ...notRestored(manifest, verification.checks), replaced: false };
		const outcome = await restoreAndCheck(
			{ ...request, freshnessDays: 0 },
			manifest,
			admin,
			staging,
			verification.checks,
		);
		if (!outcome.passed) {
			const keep = request.keepOnFailure;
			if (!keep) await dropOrReport(admin, staging, outcome.checks, request.log);
			return { ...outcome, database: keep ? staging : null, kept: keep, replaced: false };
		}
		if (request.signal?.aborted) {
			await dropDatabase(admin, staging);
			throw cancelled(target);
		}
		if (exists) {
			request.log.warn(`Replacing database "${target}" on ${where} with the restore of ${manifest.backupId}`);
			try {
				await dropDatabase(admin, target);
			} catch (error) {
				await dropDatabase(admin, staging).catch(() => undefined);
				throw new BackupError(
					'RESTORE_FAILED',
					`Cannot replace database "${target}" on ${where}: ${(error as Error).message}`,
					`The restore user "${request.connection.user}" must own "${target}" (or be a superuser) to replace it. "${target}" was not changed; the restored copy was dropped.`,
					{ cause: error },
				);
			}
		}
		try {
			await admin.query(`ALTER DATABASE ${quoteIdent(staging)} RENAME TO ${quoteIdent(target)}`);
		} catch (error) {
			throw new BackupError(
				'RESTORE_FAILED',
				`The restored copy passed every check but could not be renamed from "${staging}" to "${target}": ${(error as Error).message}`,
				`The restored data is in database "${staging}"; rename it yourself (ALTER DATABASE ... RENAME TO ...) once nobody is connected to it.`,
				{ cause: error },
			);
		}
		return { ...outcome, database: target, kept: false, replaced: exists };
	} finally {
		await admin.end().catch(() => undefined);
	}
}

/** The set's artifacts and its archive, read with the restore server's pg_restore. */
const verifyPostgresSet = (folder: string, connection: PostgresConnection) =>
	verifySetFolder(folder, { pgClientFolder: connection.binFolder }, { postgres: checkPostgresSet });

/** A session for CREATE / DROP DATABASE, never on one of the databases it will drop or rename. */
async function connectAdmin(connection: PostgresConnection, avoid: string[]): Promise<Client> {
	const database = avoid.includes(connection.database) ? 'postgres' : connection.database;
	return connect({ ...connection, database });
}

/**
 * Creates `database`, restores the set into it and runs the checks. A pg_restore failure is a
 * failed 'restore' check (the database stays for the caller to drop or keep); cancellation and
 * unexpected errors drop the database here and propagate.
 */
async function restoreAndCheck(
	request: RestoreRequest,
	manifest: Manifest,
	admin: Client,
	database: string,
	verificationChecks: CheckResult[],
): Promise<Omit<RestoreReport, 'database' | 'kept'>> {
	const { source, inventory } = postgresParts(manifest);
	const { connection, log, signal } = request;
	const target: PostgresConnection = { ...connection, database };
	const checks = [...verificationChecks];
	const report = {
		backupId: manifest.backupId,
		manifest,
		passed: false,
		restoreMs: 0,
		checksMs: 0,
		restoredBytes: 0,
		checks,
	};
	if (signal?.aborted) throw cancelled(database);
	let created = false;
	try {
		log.info(`Restoring ${manifest.backupId} into "${database}" on ${connection.host}:${connection.port}`);
		await createDatabaseForSet(admin, connection, database, source, request.restore, (name) =>
			connect({ ...connection, database: name }),
		);
		created = true;
		const archive = archivePathOf(request.folder, manifest);
		try {
			const { ms, version } = await runPgRestore({
				connection,
				database,
				archive,
				input: sealedArchiveInput(request.folder, manifest),
				options: request.restore,
				log,
				signal,
			});
			report.restoreMs = ms;
			checks.push(
				check(
					'restore',
					true,
					'pg_restore --exit-on-error succeeds',
					`restored in ${formatDuration(ms)}`,
					`pg_restore ${version} with ${request.restore.jobs} jobs restored every object without error`,
				),
			);
		} catch (error) {
			if (!(error instanceof BackupError) || error.code !== 'RESTORE_FAILED') throw error;
			checks.push(check('restore', false, 'pg_restore --exit-on-error succeeds', 'failed', error.message));
			return report;
		}
		if (signal?.aborted) throw cancelled(database);
		const started = Date.now();
		const restored = await new PostgresSource().inventory(target, {
			...defaultDumpOptions,
			// Count every table exactly; hash as many rows as the dump did.
			exactCountMaxBytes: 0,
			fingerprintRows: fingerprintRowsOf(manifest),
		});
		if (signal?.aborted) throw cancelled(database);
		const client = await connect(target);
		try {
			const facts = await readRestoredFacts(client, restored);
			const functionsDumped = !(Array.isArray(manifest.options.includeTables) && manifest.options.includeTables.length);
			checks.push(
				...compareWithManifest(source, inventory, facts, {
					backupTime: manifest.startedAt,
					maxAgeDays: request.freshnessDays,
					functionsDumped,
				}),
			);
			const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
			report.restoredBytes = Number(size.rows[0].bytes);
		} finally {
			await client.end().catch(() => undefined);
		}
		report.checksMs = Date.now() - started;
		report.passed = checks.every((c) => c.ok);
		log.info(
			`Checks of "${database}": ${checks.filter((c) => c.ok).length}/${checks.length} passed in ${formatDuration(report.checksMs)}`,
		);
		return report;
	} catch (error) {
		if (created)
			await dropDatabase(admin, database).catch((dropError) =>
				log.warn(`Could not drop "${database}": ${(dropError as Error).message}`),
			);
		throw error;
	}
}

function fingerprintRowsOf(manifest: Manifest): number {
	const recorded = Number(manifest.options.fingerprintRows);
	if (Number.isInteger(recorded) && recorded >= 0) return recorded;
	const { inventory } = postgresParts(manifest);
	return Math.max(0, ...inventory.fingerprints.map((f) => f.rows));
}

/** Drops the database; if that fails the report says so (a check) rather than hiding a leftover. */
async function dropOrReport(admin: Client, database: string, checks: CheckResult[], log: Logger): Promise<void> {
	try {
		await dropDatabase(admin, database);
	} catch (error) {
		log.warn(`Could not drop "${database}": ${(error as Error).message}`);
		checks.push(
			check(
				'cleanup',
				false,
				`database "${database}" dropped`,
				'still present',
				`DROP DATABASE failed: ${(error as Error).message}. Drop it by hand.`,
			),
		);
	}
}
