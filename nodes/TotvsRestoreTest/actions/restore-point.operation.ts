import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { filesRestoreHost, restoreReportHtml, restoreTestRestorePoint } from '../../../core/restore-test';
import {
	failedChecksText,
	failedRestoreFields,
	NOT_RESTORED,
	restoreChosenPoint,
	restorePointSource,
	rtoSentence,
} from '../../shared/restore-run';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { restoreTestSummary } from '../../shared/summary';
import { recordTestedSet } from './restore-record';
import type { RestoreTestRun } from './run';

/** What the restore point test does, shown under the operation. */
export const description: INodeProperties[] = [
	{
		displayName:
			'A restore point is the database set and the Protheus files set TOTVS Dump (Database + Files) made together. Both are restore-tested: the database in a scratch database on the restore server (as "Test Database Set"), the files in a scratch folder on the n8n machine (as "Test Files Set"), and checked to belong together (same restore point, both passed, the database taken before the files).',
		name: 'restoreTestRestorePointNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['restorePoint'] } },
	},
];

/** Restore Test of a restore point: both halves, and the pairing. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreTestRun,
): Promise<IDataObject | ItemFailure> {
	const language = summaryLanguage(this)(i);
	const { report, point, keptAt, address } = await restoreChosenPoint(run, i, (sets, databaseServer, filesServer) =>
		restoreTestRestorePoint({
			environment: sets.database.manifest.environment,
			sets,
			databaseServer,
			filesServer,
			keepOnFailure: run.flag(i, 'keepOnFailure'),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	);
	const fetched = point.fetched;
	// From a destination, each half's test is recorded beside it there, as a single set's is.
	const records: IDataObject[] = [];
	const warnings: string[] = [];
	if (fetched) {
		const startedAt = run.state(i)!.startedAt;
		const halves = [
			{ set: point.sets.database, fetched: fetched.database, report: report.parts.database, address },
			{
				set: point.sets.files,
				fetched: fetched.files,
				report: report.parts.files,
				address: { engine: 'protheus-files' as const, host: filesRestoreHost(), port: null, instance: null },
			},
		];
		for (const half of halves) {
			const manifest = half.report.manifest ?? half.set.manifest;
			const recorded = await recordTestedSet(this, run, i, { ...half, manifest, startedAt }, language);
			if (recorded.record) records.push({ backupId: manifest.backupId, ...recorded.record });
			if (recorded.warning) warnings.push(recorded.warning);
		}
	}
	const rtoMs = (fetched?.downloadMs ?? 0) + report.restoreMs + report.checksMs;
	const summary = [
		restoreTestSummary({ ...report, database: null }, language),
		rtoSentence(rtoMs, language),
		...warnings,
	].join(' ');
	this.logger.info(summary);
	if (run.flag(i, 'htmlReport'))
		await run.addReport(
			i,
			restoreReportHtml(report, language, false, rtoMs),
			`restore-test-${report.restorePointId}.html`,
		);
	const json: IDataObject = {
		restorePointId: report.restorePointId,
		environment: point.sets.database.manifest.environment,
		databaseBackupId: point.sets.database.backupId,
		filesBackupId: point.sets.files.backupId,
		restoreTest: {
			passed: report.passed,
			restoreMs: report.restoreMs,
			checksMs: report.checksMs,
			restoredBytes: report.restoredBytes,
			rtoMs,
			durationMs: rtoMs,
			bytes: report.restoredBytes,
			scratchDatabase: report.parts.database.database,
			scratchFolder: report.parts.files.database,
			kept: report.kept,
			warnings,
			// Where each half's restore-test record was written (from a destination only).
			records,
			...(fetched ? { source: restorePointSource(fetched, keptAt) } : {}),
			checks: report.checks.map((c) => ({ ...c })),
		},
		summary,
		status: 'ok',
	};
	if (!report.passed) {
		return new ItemFailure(
			`Restore test of restore point ${report.restorePointId}${fetched ? ` from ${fetched.destination}` : ''} failed: ${failedChecksText(report)}`,
			(report.kept ? 'The failed half was kept for investigation (see the report). ' : '') +
				'Do not rely on this restore point until a restore test passes: make a new one (TOTVS Dump, Database + Files) and test it.',
			json,
		);
	}
	return json;
}

/** A test that stopped with an error: what is known, and a restoreTest that did not pass. */
export function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreTestRun,
): IDataObject {
	const { checks } = failedRestoreFields(this, run, i);
	const manifest = run.state(i)?.chosen?.manifest;
	return {
		restorePointId: manifest?.restorePointId ?? null,
		environment: manifest?.environment ?? null,
		restoreTest: {
			...NOT_RESTORED,
			scratchDatabase: null,
			scratchFolder: null,
			kept: false,
			warnings: [],
			records: [],
			checks,
		},
	};
}
