import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { downloadSet } from '../../../core/upload/set-transfer';
import { backupItem, unknownSetFields } from '../../shared/backup-item';
import { DAMAGED_REMOTE_COPY_HINT, DEFAULT_STAGING_FOLDER, STAGING_FOLDER_PLACEHOLDER } from '../../shared/hints';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { verifySummary } from '../../shared/summary';
import { downloadSummary } from '../summaries';
import type { UploadRun } from './run';

const show = { show: { operation: ['download'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Backup ID',
		name: 'backupId',
		type: 'string',
		default: 'latest',
		placeholder: 'prod-20261126T020000Z-full-db',
		description: 'The set to download, or "latest" for the newest complete set of the environment',
		displayOptions: show,
	},
	{
		displayName: 'Staging Folder',
		name: 'stagingFolder',
		type: 'string',
		default: '',
		placeholder: STAGING_FOLDER_PLACEHOLDER,
		description: `Local folder the set is downloaded into (as &lt;folder&gt;/&lt;environment&gt;/&lt;backup ID&gt;). It must exist. Empty: ${DEFAULT_STAGING_FOLDER}.`,
		displayOptions: show,
	},
];

const backupIdOf = (ctx: IExecuteFunctions, i: number) =>
	String(ctx.getNodeParameter('backupId', i, 'latest') ?? 'latest');

/** Fetches a set into the staging folder and verifies it; a copy that does not verify is a failed item with its checks. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: UploadRun,
): Promise<IDataObject | ItemFailure> {
	const destination = await run.destination(i);
	const result = await downloadSet(destination, {
		environment: run.environment(i, true),
		backupId: backupIdOf(this, i),
		stagingFolder: String(this.getNodeParameter('stagingFolder', i, '') ?? ''),
		verify: { pgClientFolder: run.option(i, 'pgClientFolder', '') },
		logger: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const json = backupItem(result, '');
	const ok = result.verification.ok;
	json.summary = downloadSummary(json.backupId, destination.describe(), result.bytes, ok, summaryLanguage(this)(i));
	const section = {
		...json,
		verification: { ...result.verification },
		download: {
			destination: destination.describe(),
			remotePath: `${json.environment}/${json.backupId}`,
			bytes: result.downloadedBytes,
			durationMs: result.durationMs,
		},
	};
	if (!ok)
		return new ItemFailure(
			`Backup set ${json.backupId} downloaded from ${destination.describe()} failed verification: ${verifySummary(json.backupId, result.verification.checks, 'en')}`,
			DAMAGED_REMOTE_COPY_HINT,
			section,
		);
	return section;
}

/** The set asked for (unknown for "latest"), not verified, nothing downloaded; not the input's set, as on success. */
export function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: UploadRun,
	startedAt: Date,
): IDataObject {
	const environment = String(this.getNodeParameter('environment', i, '') ?? '').trim() || null;
	const asked = backupIdOf(this, i).trim();
	const backupId = asked && asked !== 'latest' ? asked : null;
	return {
		...unknownSetFields(),
		backupId,
		environment,
		verification: { ok: false, checkedAt: new Date().toISOString(), checks: [] },
		download: {
			destination: run.where(i),
			remotePath: environment && backupId ? `${environment}/${backupId}` : null,
			bytes: null,
			durationMs: Date.now() - startedAt.getTime(),
		},
	};
}
