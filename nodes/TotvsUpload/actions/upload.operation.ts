import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { uploadSet } from '../../../core/upload/set-transfer';
import { noSetFolderHint, setFolderDescription } from '../../shared/hints';
import { summaryLanguage } from '../../shared/run-items';
import { uploadSummary } from '../summaries';
import type { UploadRun } from './run';

export const description: INodeProperties[] = [
	{
		displayName: 'Backup Set Folder',
		name: 'setFolder',
		type: 'string',
		default: '={{ $json.location }}',
		required: true,
		description: setFolderDescription('TOTVS Dump or Verify'),
		displayOptions: { show: { operation: ['upload'] } },
	},
];

const previousUploads = (item: INodeExecutionData) =>
	Array.isArray(item.json.uploads) ? (item.json.uploads as IDataObject[]) : [];

/** Copies the set of item i to the destination, verified, holding the environment's lock. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	item: INodeExecutionData,
	run: UploadRun,
): Promise<IDataObject> {
	const setFolder = String(this.getNodeParameter('setFolder', i, '') ?? '').trim();
	if (!setFolder)
		throw new NodeOperationError(this.getNode(), 'No backup set folder to upload', {
			itemIndex: i,
			description: noSetFolderHint('TOTVS Dump (or Verify)'),
		});
	const result = await uploadSet(await run.destination(i), setFolder, {
		lock: await run.lock(i),
		readBack: run.option(i, 'readBack', false),
		logger: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const backupId = result.remotePath.split('/').pop()!;
	const summary = uploadSummary(backupId, result, summaryLanguage(this)(i));
	this.logger.info(summary);
	return {
		uploads: [
			...previousUploads(item),
			{
				destination: result.destination,
				remotePath: result.remotePath,
				bytes: result.bytes,
				verified: result.verified,
				durationMs: result.durationMs,
				lockWaitMs: result.lockWaitMs,
				verifiedBy: result.verifiedBy,
				alreadyThere: result.alreadyThere,
			},
		],
		status: 'ok',
		summary,
	};
}

/** A failed upload is listed in `uploads` too, not verified, so `uploads` always ends with this node's attempt. */
export function failed(
	this: IExecuteFunctions,
	i: number,
	item: INodeExecutionData,
	run: UploadRun,
	startedAt: Date,
): IDataObject {
	const { environment, backupId } = item.json;
	return {
		uploads: [
			...previousUploads(item),
			{
				destination: run.where(i),
				remotePath: environment && backupId ? `${String(environment)}/${String(backupId)}` : null,
				bytes: null,
				verified: false,
				durationMs: Date.now() - startedAt.getTime(),
				lockWaitMs: null,
				verifiedBy: null,
				alreadyThere: false,
			},
		],
	};
}
