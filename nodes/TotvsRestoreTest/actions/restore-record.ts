import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import type { Manifest } from '../../../core/backup-set/manifest';
import { writeRestoreRecord, type RestoreRecordInput } from '../../../core/restore-record';
import type { FetchedSet, RestoreReport } from '../../../core/restore-test';
import type { RestoreServerAddress } from '../../shared/restore-run';
import type { Language } from '../../shared/summary';
import type { RestoreTestRun } from './run';

/**
 * The restore-test record (issue 14): what Test Database Set, Test Files Set and Test Restore
 * Point leave beside each set they fetched from a destination, where TOTVS Monitor reads its
 * freshness and proof of restore. One writer for every operation, so a restore point's two
 * halves are recorded exactly as a single set is.
 */

/** One set restore-tested after it was fetched from a destination. */
export interface TestedSet {
	manifest: Manifest;
	fetched: FetchedSet;
	/** That set's own report (for a restore point: its half). */
	report: RestoreReport;
	/** The server it was restored on (a files set: this machine). */
	address: RestoreServerAddress;
	startedAt: Date;
}

/**
 * Records the test of `tested` on the destination it came from. A record that cannot be written
 * is a warning (logged, and returned for the item and its summary), never a failed test.
 */
export async function recordTestedSet(
	ctx: IExecuteFunctions,
	run: RestoreTestRun,
	i: number,
	tested: TestedSet,
	language: Language,
): Promise<{ record: IDataObject | null; warning?: string }> {
	const { manifest, fetched, report } = tested;
	try {
		const record = await writeRecord(run, i, {
			environment: manifest.environment,
			testedId: manifest.backupId,
			backupIds: fetched.chain ?? [manifest.backupId],
			engine: manifest.engine,
			passed: report.passed,
			startedAt: tested.startedAt,
			finishedAt: new Date(),
			fetchMs: fetched.downloadMs,
			restoreMs: report.restoreMs,
			checksMs: report.checksMs,
			restoredBytes: report.restoredBytes,
			checks: report.checks,
			restoreServer: serverOf(tested.address, report.database),
			sourceDestination: fetched.destination,
		});
		return { record };
	} catch (error) {
		ctx.logger.warn(recordWarning(fetched.destination, error, 'en'));
		return { record: null, warning: recordWarning(fetched.destination, error, language) };
	}
}

/** Writes the restore-test record beside the tested set, on the destination item i reads from. */
export async function writeRecord(run: RestoreTestRun, i: number, input: RestoreRecordInput): Promise<IDataObject> {
	const destination = await run.openSetDestination(i);
	try {
		const written = await writeRestoreRecord(destination, input);
		const record = { destination: destination.describe(), remotePath: written.remotePath };
		run.records.set(i, record);
		return record;
	} finally {
		await destination.close().catch(() => undefined);
	}
}

export const serverOf = (address: RestoreServerAddress, target: string | null) => ({
	engine: address.engine,
	host: address.instance ? `${address.host}\\${address.instance}` : address.host,
	...(address.port !== null ? { port: address.port } : {}),
	...(target ? { target } : {}),
});

export function recordWarning(destination: string, error: unknown, language: Language): string {
	const message = error instanceof Error ? error.message : String(error);
	return language === 'pt-BR'
		? `O registro do teste de restauração não pôde ser gravado em ${destination} (${message}): o TOTVS Monitor não verá este teste.`
		: `The restore-test record could not be written to ${destination} (${message}): TOTVS Monitor will not see this test.`;
}
