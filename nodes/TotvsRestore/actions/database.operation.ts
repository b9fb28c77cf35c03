import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { restoreReportHtml, restoreSet } from '../../../core/restore-test';
import {
	failedRestoreFields,
	restoreChosenSet,
	restoredSetFields,
	rtoMsOf,
	rtoSentence,
	sourceSection,
	type RestoreRun,
	failedChecksText,
	NOT_RESTORED,
} from '../../shared/restore-run';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { restoreTestSummary } from '../../shared/summary';

/** Restore Point restores a database too: it shows the same target and guards. */
const WITH_DATABASE = ['database', 'restorePoint'];
const show = { show: { operation: WITH_DATABASE } };
const on = (restoreServer: string) => ({ show: { operation: WITH_DATABASE, restoreServer: [restoreServer] } });

/** What the restore does on each server, shown under Restore Server. */
export const notices: INodeProperties[] = [
	{
		displayName:
			'The credential is the server to restore on (a "TOTVS PostgreSQL" credential). Its database is only connected to (postgres is fine); its user needs CREATEDB, and must own the target to replace it. The set is restored into totvs_rs_&lt;backup ID&gt; and checked; only then is an existing target dropped and the copy renamed to the Target Database.',
		name: 'restorePostgresNotice',
		type: 'notice',
		default: '',
		displayOptions: on('postgres'),
	},
	{
		displayName:
			'The credential is the server to restore on (a "TOTVS SQL Server" credential); the node works from its master database and its login needs CREATE DATABASE (dbcreator). The chain is restored into totvs_rs_&lt;backup ID&gt; (file names totvs_rs_&lt;backup ID&gt;_1.mdf, _2.ldf … in the default folders, logical names the source\'s) and checked with DBCC CHECKDB and the TOTVS checks. Replacing an existing database disconnects its sessions (ROLLBACK IMMEDIATE), renames it to totvs_old_&lt;target&gt;, gives the restored copy its name, then drops the old one. SQL Server reads the sets itself, through the shared folder below.',
		name: 'restoreSqlServerNotice',
		type: 'notice',
		default: '',
		displayOptions: on('sqlserver'),
	},
];

/** The target and its guards (the names Restore Test's Restore operation had). */
export const targetParameters: INodeProperties[] = [
	{
		displayName: 'Target Database',
		name: 'targetDatabase',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'protheus_restored',
		displayOptions: show,
		description:
			'Database to restore into, on the server of the credential. It must not exist unless "Replace Existing Database" is on.',
	},
	{
		displayName: 'Replace Existing Database',
		name: 'replaceExisting',
		type: 'boolean',
		default: false,
		displayOptions: show,
		description:
			'Whether to replace the target database if it exists. The set is restored and checked under a temporary name first; the old database is dropped only when every check passed and the restored copy has taken its name.',
	},
	{
		displayName: 'Allow Replacing the Source Database',
		name: 'allowSourceDatabase',
		type: 'boolean',
		default: false,
		displayOptions: { show: { operation: WITH_DATABASE, replaceExisting: [true] } },
		description:
			'Whether the target may be the very database the set was taken from (same server and database name). Replaces production data: for disaster recovery only.',
	},
];

export const description: INodeProperties[] = [...notices, ...targetParameters];

const targetOf = (ctx: IExecuteFunctions, i: number) =>
	String(ctx.getNodeParameter('targetDatabase', i, '') ?? '').trim();

/** Real recovery: the set restored under a staging name, checked, then given the target's name. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreRun,
): Promise<IDataObject | ItemFailure> {
	const language = summaryLanguage(this)(i);
	const target = targetOf(this, i);
	const restored = await restoreChosenSet(run, i, (folder, server) =>
		restoreSet({
			folder,
			server,
			target,
			replaceExisting: this.getNodeParameter('replaceExisting', i, false) === true,
			allowSourceDatabase: this.getNodeParameter('allowSourceDatabase', i, false) === true,
			keepOnFailure: run.flag(i, 'keepOnFailure'),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	);
	const { report, chosen, keptAt } = restored;
	const fetched = chosen.fetched;
	const rtoMs = rtoMsOf(report, fetched);
	const summary = `${restoreTestSummary(report, language, true)} ${rtoSentence(rtoMs, language)}`;
	this.logger.info(summary);
	if (run.flag(i, 'htmlReport'))
		await run.addReport(
			i,
			restoreReportHtml(report, language, true, rtoMs),
			`restore-${report.backupId ?? 'unknown'}.html`,
		);
	const json: IDataObject = {
		...restoredSetFields(restored, summary),
		restore: {
			passed: report.passed,
			target,
			restoreMs: report.restoreMs,
			checksMs: report.checksMs,
			restoredBytes: report.restoredBytes,
			// The measured recovery time: download + restore + checks.
			rtoMs,
			durationMs: rtoMs,
			bytes: report.restoredBytes,
			database: report.database,
			replaced: report.replaced,
			kept: report.kept,
			...(fetched ? { source: sourceSection(fetched, keptAt) } : {}),
			checks: report.checks.map((c) => ({ ...c })),
		},
		summary,
		status: 'ok',
	};
	if (!report.passed) {
		return new ItemFailure(
			`Restore of backup set ${report.backupId ?? chosen.folder}${fetched ? ` from ${fetched.destination}` : ''} failed: ${failedChecksText(report)}`,
			(report.kept ? `Database "${report.database}" was kept for investigation: drop it when done. ` : '') +
				(report.replaced
					? `Database "${report.database}" holds the restored copy, which passed its checks; see the failed check for what is left to do.`
					: 'The target database was not created or replaced. Restore another set, or investigate this one.'),
			json,
		);
	}
	return json;
}

/** A restore that stopped with an error: nothing restored, the target as it was. */
export function failed(this: IExecuteFunctions, i: number, _item: INodeExecutionData, run: RestoreRun): IDataObject {
	const { setFields, checks, source } = failedRestoreFields(this, run, i);
	return {
		...setFields,
		restore: {
			...NOT_RESTORED,
			target: targetOf(this, i) || null,
			database: null,
			replaced: false,
			kept: false,
			...(source ? { source } : {}),
			checks,
		},
	};
}
