import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { restoreReportHtml, restoreRestorePoint } from '../../../core/restore-test';
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
import type { RestoreRun } from '../../shared/restore-run';
import { filesSection, targetFolderOf } from './files.operation';

export const description: INodeProperties[] = [
	{
		displayName:
			'Restores both sets of one restore point (TOTVS Dump, Database + Files): the database first, into the Target Database; the files into the Target Folder only if the database was restored and passed its checks.',
		name: 'restorePointNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['restorePoint'] } },
	},
];

const targetDatabaseOf = (ctx: IExecuteFunctions, i: number) =>
	String(ctx.getNodeParameter('targetDatabase', i, '') ?? '').trim();

/** Real recovery of a restore point: database, then files. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreRun,
): Promise<IDataObject | ItemFailure> {
	const language = summaryLanguage(this)(i);
	const targetDatabase = targetDatabaseOf(this, i);
	const targetFolder = targetFolderOf(this, i);
	const { report, point, keptAt } = await restoreChosenPoint(run, i, (sets, databaseServer, filesServer) =>
		restoreRestorePoint({
			sets,
			databaseServer,
			filesServer,
			database: {
				target: targetDatabase,
				replaceExisting: this.getNodeParameter('replaceExisting', i, false) === true,
				allowSourceDatabase: this.getNodeParameter('allowSourceDatabase', i, false) === true,
			},
			files: { target: targetFolder, replace: this.getNodeParameter('replaceTarget', i, false) === true },
			keepOnFailure: run.flag(i, 'keepOnFailure'),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	);
	const fetched = point.fetched;
	const rtoMs = (fetched?.downloadMs ?? 0) + report.restoreMs + report.checksMs;
	const summary = `${restoreTestSummary({ ...report, database: null }, language, true)} ${rtoSentence(rtoMs, language)}`;
	this.logger.info(summary);
	if (run.flag(i, 'htmlReport'))
		await run.addReport(i, restoreReportHtml(report, language, true, rtoMs), `restore-${report.restorePointId}.html`);
	const { database, files } = report.parts;
	const json: IDataObject = {
		restorePointId: report.restorePointId,
		environment: point.sets.database.manifest.environment,
		databaseBackupId: point.sets.database.backupId,
		filesBackupId: point.sets.files.backupId,
		restore: {
			passed: report.passed,
			restoreMs: report.restoreMs,
			checksMs: report.checksMs,
			restoredBytes: report.restoredBytes,
			rtoMs,
			durationMs: rtoMs,
			bytes: report.restoredBytes,
			database: {
				passed: database.passed,
				target: targetDatabase,
				restoreMs: database.restoreMs,
				durationMs: database.restoreMs + database.checksMs,
				bytes: database.restoredBytes,
				replaced: database.replaced,
			},
			files: files ? filesSection(files, targetFolder, files.restoreMs + files.checksMs) : null,
			...(fetched ? { source: restorePointSource(fetched, keptAt) } : {}),
			checks: report.checks.map((c) => ({ ...c })),
		},
		summary,
		status: 'ok',
	};
	if (!report.passed) {
		return new ItemFailure(
			`Restore of restore point ${report.restorePointId} failed: ${failedChecksText(report)}`,
			database.passed
				? `The database "${targetDatabase}" was restored and passed its checks; the files were not swapped into ${targetFolder}. See the failed check.`
				: `Nothing was changed: the database restore failed, so the files in ${targetFolder} were left as they were.`,
			json,
		);
	}
	return json;
}

export function failed(this: IExecuteFunctions, i: number, _item: INodeExecutionData, run: RestoreRun): IDataObject {
	const { checks } = failedRestoreFields(this, run, i);
	const manifest = run.state(i)?.chosen?.manifest;
	return {
		restorePointId: manifest?.restorePointId ?? null,
		environment: manifest?.environment ?? null,
		restore: {
			...NOT_RESTORED,
			database: null,
			files: null,
			checks,
		},
	};
}
