/**
 * Restore Test and Restore of a SQL Server set, reported like PostgreSQL's: verify the set's
 * files, plan the chain from the sets beside it (full, differential, logs), restore it on the
 * restore server (which reads the files through the shared folder) and check it. Restore Test
 * then drops the scratch copy; Restore puts the checked copy under the target's name.
 */
import { readSet } from '../../../backup-set/catalog';
import { isSealedWithoutKeys, manifestOf, type Manifest } from '../../../backup-set/manifest';
import { identitiesFor } from '../../../backup-set/sealed-read';
import { BackupError } from '../../../errors';
import type { Logger } from '../../../logger';
import {
	asideNameFor,
	checkTargetName,
	isSourceDatabase,
	readDatabaseState,
	stagingNameFor,
	swapIntoTarget,
	type SqlServerAddress,
} from './target';
import { runSqlServerRestoreTest } from './chain-restore';
import { planSqlServerRestore } from './plan';
import { trustedRecordedFolder } from './recorded-folder';
import type { SqlRunner } from '../runner';
import { readServerFacts } from '../server-facts';
import type { SharedFolder } from '../shared-folder';
import { dropDatabaseStatement } from '../tsql';
import type { CheckResult } from '../../../checks/check';
import { verifySetFolder } from '../../../checks/set-verification';
import { cancelled } from '../../../restore-shared/cancellation';
import { notRestored, type RealRestoreReport, type RestoreReport } from '../../../restore-shared/report';
import { checkSqlServerSet } from '../verify';

export interface SqlServerSetRestoreTestRequest {
	folder: string;
	/** Opens a session on the restore server (it may differ from the server the set came from). */
	connect: () => Promise<SqlRunner>;
	/** The folder holding the set as n8n sees it and as the restore server sees it, from the one TOTVS Dump recorded. */
	sharedFolder: (recorded: SharedFolder) => SharedFolder;
	/** See SqlServerRestoreTestRequest.rowTolerance. */
	rowTolerance?: number;
	statsPercent?: number;
	/** Keep the restored database when the restore or a check fails, for investigation. */
	keepOnFailure?: boolean;
	log: Logger;
	signal?: AbortSignal;
}

export interface SqlServerSetRestoreRequest extends SqlServerSetRestoreTestRequest {
	/** The database to restore into. */
	target: string;
	/** Replace a target that exists (renamed aside, and dropped only after the new copy took its name). */
	replaceExisting: boolean;
	/** Also allow the target to be the database the set was taken from (with replaceExisting). */
	allowSourceDatabase: boolean;
	/** The restore server as the credential names it: recognises the source server when @@SERVERNAME differs. */
	address?: SqlServerAddress;
}

export async function runSqlServerSetRestoreTest(request: SqlServerSetRestoreTestRequest): Promise<RestoreReport> {
	const { manifest, ok, verified } = await verifySqlServerSet(request.folder);
	if (!manifest || !ok) return notRestored(manifest, verified);
	// A sealed set without its identity: said before any statement, naming the keys it needs.
	if (isSealedWithoutKeys(manifest)) identitiesFor(manifest);
	const runner = await request.connect();
	try {
		return await restoreAndCheck(request, manifest, verified, runner);
	} finally {
		await runner.close().catch(() => undefined);
	}
}

/**
 * Restore (real recovery) into `target`. Guarded as PostgreSQL's: the target must not exist
 * unless replaceExisting; the set's own source database also needs allowSourceDatabase. The chain
 * is restored into totvs_rs_<backup ID> and checked (DBCC CHECKDB and the TOTVS checks); only
 * then is an existing target renamed aside, the copy renamed to the target, and the old one
 * dropped. A failure drops the copy and leaves the target as it was.
 */
export async function runSqlServerSetRestore(request: SqlServerSetRestoreRequest): Promise<RealRestoreReport> {
	const target = checkTargetName(request.target);
	// The guards first (cheap): nobody waits for a whole chain to be hashed to hear "no".
	const manifest = await readSet(request.folder);
	if (isSealedWithoutKeys(manifest)) identitiesFor(manifest);
	const { source, backupId } = manifestOf(manifest, 'sqlserver');
	const staging = stagingNameFor(backupId);
	const aside = asideNameFor(target);
	const runner = await request.connect();
	try {
		const where = runner.description;
		const server = await readServerFacts(runner);
		const intoSource = isSourceDatabase(source, server, request.address, target);
		if (intoSource && !(request.replaceExisting && request.allowSourceDatabase))
			throw new BackupError(
				'TARGET_IS_SOURCE',
				`"${target}" on ${where} is the database backup set ${backupId} was taken from`,
				'Restoring over the source database replaces production data. If that is really what you want, turn on both "Replace Existing Database" and "Allow Replacing the Source Database"; otherwise choose another target name.',
			);
		const existing = await readDatabaseState(runner, target);
		if (existing && !request.replaceExisting)
			throw new BackupError(
				'TARGET_EXISTS',
				`Database "${target}" already exists on ${where}`,
				'Choose a new target name, or turn on "Replace Existing Database" to replace it (it is renamed aside only after the restored copy passed every check, and dropped once the copy has its name).',
			);
		if (existing && existing.state !== 'ONLINE')
			throw new BackupError(
				'TARGET_EXISTS',
				`Database "${target}" on ${where} is ${existing.state}, so it cannot be renamed aside and replaced`,
				`Bring it online (or finish its restore: RESTORE DATABASE [${target}] WITH RECOVERY), or drop it yourself if it is no longer needed, then run again.`,
			);
		if (existing && (await readDatabaseState(runner, aside)))
			throw new BackupError(
				'TARGET_EXISTS',
				`Database "${aside}" already exists on ${where}; a replace of "${target}" renames the old database to that name`,
				'An earlier replace could not drop it. Look at it, drop it (DROP DATABASE ...) or rename it, and run again.',
			);
		if (await readDatabaseState(runner, staging))
			throw new BackupError(
				'TARGET_EXISTS',
				`Staging database "${staging}" already exists on ${where}`,
				'An earlier restore of this set was kept on failure or is still running. Look at it, drop it, and run again.',
			);
		if (intoSource)
			request.log.warn(`Restore of ${backupId} will replace "${target}" on ${where}, the database it was taken from`);

		const { ok, verified } = await verifySqlServerSet(request.folder);
		if (!ok) return { ...notRestored(manifest, verified), replaced: false };
		const outcome = await restoreAndCheck(request, manifest, verified, runner, {
			database: staging,
			keepWhenPassed: true,
		});
		if (!outcome.passed) return { ...outcome, database: outcome.kept ? staging : null, replaced: false };
		if (request.signal?.aborted) {
			await runner.query(dropDatabaseStatement(staging), {}, { timeoutMs: 0 });
			throw cancelled(target);
		}
		const cleanup = await swapIntoTarget({ runner, staging, target, existing, aside, log: request.log });
		const checks = cleanup ? [...outcome.checks, cleanup] : outcome.checks;
		request.log.info(`Restored ${backupId} into "${target}" on ${where}${existing ? ' (replaced)' : ''}`);
		return {
			...outcome,
			checks,
			passed: checks.every((c) => c.ok),
			database: target,
			kept: false,
			replaced: existing !== undefined,
		};
	} finally {
		await runner.close().catch(() => undefined);
	}
}

/**
 * The set's artifacts and its chain, as Verify checks them. VERIFYONLY is left out (it would be
 * reported "not run"): the RESTORE below reads every page anyway.
 */
async function verifySqlServerSet(folder: string) {
	const { manifest, verification } = await verifySetFolder(folder, undefined, {
		sqlserver: (setFolder, setManifest) => checkSqlServerSet(setFolder, setManifest),
	});
	return { manifest, ok: verification.ok, verified: verification.checks.filter((c) => !c.notRun) };
}

/** Plans the chain and restores it into `database` (the scratch name by default), with the checks. */
async function restoreAndCheck(
	request: SqlServerSetRestoreTestRequest,
	manifest: Manifest,
	verified: CheckResult[],
	runner: SqlRunner,
	into: { database?: string; keepWhenPassed?: boolean } = {},
): Promise<RestoreReport> {
	// The folder the manifest records only when a trusted key signed it (recorded-folder.ts).
	const shared = request.sharedFolder(await trustedRecordedFolder(request.folder));
	const chain = await planSqlServerRestore(request.folder, manifest);
	const result = await runSqlServerRestoreTest({
		chain,
		runner,
		shared,
		scratchDatabase: into.database,
		keepWhenPassed: into.keepWhenPassed,
		keepOnFailure: request.keepOnFailure,
		rowTolerance: request.rowTolerance ?? 0.01,
		statsPercent: request.statsPercent ?? 10,
		log: request.log,
		signal: request.signal,
	}).catch((error: unknown) => {
		// The driver reports a cancelled statement as its own error; the database was dropped.
		if (request.signal?.aborted) throw cancelled(into.database ?? `the scratch database of ${manifest.backupId}`);
		throw error;
	});
	// The restore test checks the chain again, in restore order: report it once.
	const reported = new Set(result.checks.map((c) => c.name));
	const checks = [...verified.filter((c) => !reported.has(c.name)), ...result.checks];
	return {
		backupId: result.backupId,
		manifest,
		passed: checks.every((c) => c.ok),
		restoreMs: result.restoreMs,
		checksMs: result.checksMs,
		// SQL Server's size of the restored copy is not read
		restoredBytes: 0,
		database: result.database,
		kept: result.kept,
		checks,
	};
}
