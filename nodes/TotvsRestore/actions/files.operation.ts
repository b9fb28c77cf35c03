import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { restoreReportHtml, restoreSet, type RealRestoreReport } from '../../../core/restore-test';
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

/** Restore Point restores the files too: it shows the same target. */
const WITH_FILES = ['files', 'restorePoint'];

/** The target folder and Replace. */
export const description: INodeProperties[] = [
	{
		displayName:
			"The chain (full → differential → incrementals up to the chosen set) is restored beside the target folder (same parent, hidden name .&lt;name&gt;.totvs-restoring-…), checked like a Restore Test (every file's size, SHA-256 and mode, owners like GNU tar when n8n runs as root, deletions, the appserver.ini paths), and only then given the target's name. With Replace, the old tree is renamed to &lt;name&gt;.totvs-old-&lt;time&gt; beside it, never deleted. Stop the AppServer first.",
		name: 'restoreFilesNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: WITH_FILES } },
	},
	{
		displayName: 'Target Folder',
		name: 'targetFolder',
		type: 'string',
		default: '',
		required: true,
		placeholder: '/totvs',
		displayOptions: { show: { operation: WITH_FILES } },
		description:
			'Folder the tree is restored into (it holds one folder per backed-up root, e.g. protheus, protheus_data). It must be empty or absent unless "Replace Target Folder" is on.',
	},
	{
		displayName: 'Replace Target Folder',
		name: 'replaceTarget',
		type: 'boolean',
		default: false,
		displayOptions: { show: { operation: WITH_FILES } },
		description:
			'Whether to replace a target folder that is not empty. Its parent needs room for both trees: the old one is moved aside (its new name is in the output), not deleted.',
	},
];

export const targetFolderOf = (ctx: IExecuteFunctions, i: number) =>
	String(ctx.getNodeParameter('targetFolder', i, '') ?? '').trim();

/** The restore's section, the same for Restore Files and the files half of Restore Point. */
export function filesSection(report: RealRestoreReport, target: string, rtoMs: number | null): IDataObject {
	return {
		passed: report.passed,
		target,
		restoreMs: report.restoreMs,
		checksMs: report.checksMs,
		restoredBytes: report.restoredBytes,
		rtoMs,
		durationMs: rtoMs,
		bytes: report.restoredBytes,
		replaced: report.replaced,
		oldTree: report.oldTree ?? null,
		kept: report.kept,
		keptAt: report.kept ? report.database : null,
		checks: report.checks.map((c) => ({ ...c })),
	};
}

/** Real recovery of a Protheus file tree into a folder. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: RestoreRun,
): Promise<IDataObject | ItemFailure> {
	const language = summaryLanguage(this)(i);
	const target = targetFolderOf(this, i);
	const restored = await restoreChosenSet(run, i, (folder, server) =>
		restoreSet({
			folder,
			server,
			target,
			replaceExisting: this.getNodeParameter('replaceTarget', i, false) === true,
			allowSourceDatabase: false,
			keepOnFailure: run.flag(i, 'keepOnFailure'),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	);
	const { report, chosen, keptAt } = restored;
	const fetched = chosen.fetched;
	const rtoMs = rtoMsOf(report, fetched);
	// The shared summary names a database; a tree's place is said in a sentence of its own.
	const where = !report.passed
		? ''
		: language === 'pt-BR'
			? ` Árvore restaurada em ${target}${report.oldTree ? `; a anterior foi movida para ${report.oldTree}` : ''}.`
			: ` Tree restored into ${target}${report.oldTree ? `; the old tree was moved to ${report.oldTree}` : ''}.`;
	const summary = `${restoreTestSummary({ ...report, database: null }, language, true)}${where} ${rtoSentence(rtoMs, language)}`;
	this.logger.info(summary);
	if (run.flag(i, 'htmlReport'))
		await run.addReport(
			i,
			restoreReportHtml(report, language, true, rtoMs),
			`restore-${report.backupId ?? 'unknown'}.html`,
		);
	const json: IDataObject = {
		...restoredSetFields(restored, summary),
		restore: { ...filesSection(report, target, rtoMs), ...(fetched ? { source: sourceSection(fetched, keptAt) } : {}) },
		summary,
		status: 'ok',
	};
	if (!report.passed) {
		return new ItemFailure(
			`Restore of files set ${report.backupId ?? chosen.folder} into ${target} failed: ${failedChecksText(report)}`,
			(report.kept ? `The restored copy was kept in ${report.database} for investigation: remove it when done. ` : '') +
				`The target folder ${target} was not touched. Restore another set, or investigate this one.`,
			json,
		);
	}
	return json;
}

/** A restore that stopped with an error: nothing swapped in, the target as it was. */
export function failed(this: IExecuteFunctions, i: number, _item: INodeExecutionData, run: RestoreRun): IDataObject {
	const { setFields, checks, source } = failedRestoreFields(this, run, i);
	return {
		...setFields,
		restore: {
			...NOT_RESTORED,
			target: targetFolderOf(this, i) || null,
			replaced: false,
			oldTree: null,
			kept: false,
			...(source ? { source } : {}),
			checks,
		},
	};
}
