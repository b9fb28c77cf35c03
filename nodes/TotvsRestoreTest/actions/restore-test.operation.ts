import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Manifest } from '../../../core/backup-set/manifest';
import { isBackupError } from '../../../core/errors';
import { restoreReportHtml, restoreTestSet } from '../../../core/restore-test';
import {
	askedBackupId,
	failedRestoreFields,
	isSetSourceServer,
	onSetSourceServer,
	restoreChosenSet,
	restoredSetFields,
	rtoMsOf,
	rtoSentence,
	sourceSection,
	type RestoreServerAddress,
	NOT_RESTORED,
	failedChecksText,
} from '../../shared/restore-run';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { restoreTestSummary, type Language } from '../../shared/summary';
import { recordTestedSet, recordWarning, serverOf, writeRecord } from './restore-record';
import type { RestoreTestRun } from './run';

const show = (restoreServer: string) => ({ show: { operation: ['restoreTest'], restoreServer: [restoreServer] } });

/** Restore Test's own parameters: what the test does on each restore server. */
export const description: INodeProperties[] = [
	{
		displayName:
			'The credential is the restore server\'s: its own "TOTVS PostgreSQL" credential, not production\'s (a test on the production server is flagged in the item). Its database is only connected to (postgres is fine); its user needs CREATEDB. Restore Test creates totvs_rt_&lt;backup ID&gt; there, checks it and drops it; nothing else is touched.',
		name: 'restoreTestPostgresNotice',
		type: 'notice',
		default: '',
		displayOptions: show('postgres'),
	},
	{
		displayName:
			"The credential is the restore server's (a \"TOTVS SQL Server\" credential, not production's); the node works from its master database and its login needs CREATE DATABASE (dbcreator). The chain (full, differential, logs) is restored into totvs_rt_&lt;backup ID&gt; in the server's default data and log folders, checked with DBCC CHECKDB and the TOTVS checks, then dropped. SQL Server reads the sets itself, through the shared folder below; sets from a destination are downloaded into it.",
		name: 'restoreTestSqlServerNotice',
		type: 'notice',
		default: '',
		displayOptions: show('sqlserver'),
	},
];

/**
 * Restores the item's set into a scratch database, checks it against its manifest and drops it.
 * From a destination, the outcome is also recorded there, beside the set (TOTVS Monitor reads it).
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreTestRun,
): Promise<IDataObject | ItemFailure> {
	const language = summaryLanguage(this)(i);
	const restored = await restoreChosenSet(run, i, (folder, server) =>
		restoreTestSet({
			folder,
			server,
			keepOnFailure: run.flag(i, 'keepOnFailure'),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	).catch(async (error: unknown) => {
		// Recorded whether or not the node continues on fail; the error goes on unchanged.
		await recordDamagedDownload(this, run, i, error);
		return Promise.reject(error);
	});
	const { report, chosen, keptAt, address } = restored;
	const fetched = chosen.fetched;
	const manifest = report.manifest ?? chosen.manifest;
	const onSourceServer = manifest ? onSetSourceServer(report, manifest, address) : false;
	const warnings = onSourceServer && manifest ? [sourceServerWarning(manifest, address, language)] : [];
	let record: IDataObject | null = null;
	if (fetched && manifest) {
		const recorded = await recordTestedSet(
			this,
			run,
			i,
			{ manifest, fetched, report, address, startedAt: run.state(i)!.startedAt },
			language,
		);
		record = recorded.record;
		if (recorded.warning) warnings.push(recorded.warning);
	}
	const rtoMs = rtoMsOf(report, fetched);
	// A files set's scratch is a folder: the summary names no "database" for it.
	const named = manifest?.engine === 'protheus-files' ? { ...report, database: null } : report;
	const summary = [restoreTestSummary(named, language), rtoSentence(rtoMs, language), ...warnings].join(' ');
	this.logger.info(summary);
	if (run.flag(i, 'htmlReport'))
		await run.addReport(
			i,
			restoreReportHtml(report, language, false, rtoMs),
			`restore-test-${report.backupId ?? 'unknown'}.html`,
		);
	const json: IDataObject = {
		...restoredSetFields(restored, summary),
		restoreTest: {
			passed: report.passed,
			restoreMs: report.restoreMs,
			checksMs: report.checksMs,
			restoredBytes: report.restoredBytes,
			// The measured recovery time: download + restore + checks.
			rtoMs,
			durationMs: rtoMs,
			bytes: report.restoredBytes,
			// A files set: the scratch folder.
			scratchDatabase: report.database,
			kept: report.kept,
			onSourceServer,
			warnings,
			record,
			...(fetched ? { source: sourceSection(fetched, keptAt) } : {}),
			checks: report.checks.map((c) => ({ ...c })),
		},
		summary,
		status: 'ok',
	};
	if (!report.passed) {
		return new ItemFailure(
			`Restore test of backup set ${report.backupId ?? chosen.folder}${fetched ? ` from ${fetched.destination}` : ''} failed: ${failedChecksText(report)}`,
			(report.kept ? `Database "${report.database}" was kept for investigation: drop it when done. ` : '') +
				'Do not rely on this backup until a restore test passes. Make a new backup and test it; keep this set for investigation.',
			json,
		);
	}
	return json;
}

/** A test that stopped with an error: the set's fields as far as known, and a restoreTest that did not pass. */
export function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreTestRun,
): IDataObject {
	const { setFields, checks, source } = failedRestoreFields(this, run, i);
	const state = run.state(i);
	const manifest = state?.chosen?.manifest;
	const onSourceServer = !!(manifest && state?.address && isSetSourceServer(manifest, state.address));
	return {
		...setFields,
		restoreTest: {
			...NOT_RESTORED,
			scratchDatabase: null,
			kept: false,
			onSourceServer,
			warnings: onSourceServer ? [sourceServerWarning(manifest!, state!.address!, summaryLanguage(this)(i))] : [],
			record: run.records.get(i) ?? null,
			...(source ? { source } : {}),
			checks,
		},
	};
}

/**
 * A copy on the destination that failed verification is a failed restore test of that set:
 * recorded like one when the set was asked for by ID (for "Latest" the ID is not known here).
 * A record that cannot be written is logged; the error being reported stays the item's.
 */
async function recordDamagedDownload(ctx: IExecuteFunctions, run: RestoreTestRun, i: number, error: unknown) {
	const state = run.state(i);
	if (!state?.where || !isBackupError(error) || error.code !== 'VERIFY_FAILED') return;
	const backupId = askedBackupId(ctx, i);
	if (!backupId || !state.address) return;
	try {
		await writeRecord(run, i, {
			environment: String(ctx.getNodeParameter('environment', i)).trim(),
			testedId: backupId,
			engine: state.address.engine,
			passed: false,
			startedAt: state.startedAt,
			finishedAt: new Date(),
			fetchMs: null,
			restoreMs: 0,
			checksMs: null,
			restoredBytes: 0,
			checks: failedRestoreFields(ctx, run, i).checks,
			restoreServer: serverOf(state.address, null),
			sourceDestination: state.where,
		});
	} catch (recordError) {
		ctx.logger.warn(recordWarning(state.where, recordError, 'en'));
	}
}

const where = (address: RestoreServerAddress) =>
	`${address.host}${address.instance ? `\\${address.instance}` : ''}${address.port !== null ? `:${address.port}` : ''}`;

/** Issue 16: a restore test on the production server is said in the item, not only in n8n's log. */
function sourceServerWarning(manifest: Manifest, address: RestoreServerAddress, language: Language): string {
	const database = (manifest.source as { database?: string }).database ?? '';
	return language === 'pt-BR'
		? `Atenção: o servidor de restauração ${where(address)} é o servidor de onde o backup ${manifest.backupId} foi feito: o banco temporário foi criado na produção, ao lado de "${database}" (que não foi alterado), disputando disco e CPU com o ERP. Use a credencial de um servidor de restauração próprio.`
		: `Warning: the restore server ${where(address)} is the server backup ${manifest.backupId} was taken from: the scratch database was created on production, beside "${database}" (not touched), competing with the ERP for disk and CPU. Use the credential of a restore server of its own.`;
}
