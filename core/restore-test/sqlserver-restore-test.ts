/**
 * Restore Test of a SQL Server set, reported like PostgreSQL's: verify the set's files, plan the
 * chain from the sets beside it (full, differential, logs), restore it into a scratch database on
 * the restore server (which reads the files through the shared folder), check it, drop it.
 */
import { manifestOf } from '../backup-set/manifest';
import type { Logger } from '../logger';
import { planSqlServerRestore, runSqlServerRestoreTest } from '../sources/sqlserver/restore-test';
import type { SqlRunner } from '../sources/sqlserver/runner';
import type { SharedFolder } from '../sources/sqlserver/shared-folder';
import { check } from '../verify/checks';
import { verifyLocalSet } from '../verify/verify-set';
import type { RestoreReport } from './postgres-restore-test';

export interface SqlServerSetRestoreTestRequest {
	folder: string;
	/** Opens a session on the restore server (it may differ from the server the set came from). */
	connect: () => Promise<SqlRunner>;
	/** The folder holding the set as n8n sees it and as the restore server sees it, from the one TOTVS Dump recorded. */
	sharedFolder: (recorded: SharedFolder) => SharedFolder;
	/** See SqlServerRestoreTestRequest.rowTolerance. */
	rowTolerance?: number;
	statsPercent?: number;
	log: Logger;
	signal?: AbortSignal;
}

export async function runSqlServerSetRestoreTest(request: SqlServerSetRestoreTestRequest): Promise<RestoreReport> {
	// VERIFYONLY is left out (reported "not run" by Verify): the RESTORE below reads every page anyway.
	const { manifest, verification } = await verifyLocalSet(request.folder);
	const verified = verification.checks.filter((c) => !c.notRun);
	if (!manifest || !verification.ok) {
		const skipped = check('restore', false, 'restored', 'not attempted', 'The set failed verification, so it was not restored: a damaged artifact cannot give a trustworthy database');
		return { backupId: manifest?.backupId ?? null, manifest, passed: false, restoreMs: 0, checksMs: 0, restoredBytes: 0, database: null, kept: false, checks: [...verified, skipped] };
	}
	const { serverFolder, localFolder } = manifestOf(manifest, 'sqlserver').source;
	const shared = request.sharedFolder({ serverFolder, localFolder });
	const chain = await planSqlServerRestore(request.folder, manifest);
	const runner = await request.connect();
	try {
		const result = await runSqlServerRestoreTest({
			chain,
			runner,
			shared,
			rowTolerance: request.rowTolerance ?? 0.01,
			statsPercent: request.statsPercent ?? 10,
			log: request.log,
			signal: request.signal,
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
			// SQL Server's size of the scratch copy is not read before it is dropped
			restoredBytes: 0,
			database: result.database,
			// The scratch database is always dropped: the core has no "keep on failure" for SQL Server
			kept: false,
			checks,
		};
	} finally {
		await runner.close().catch(() => undefined);
	}
}
