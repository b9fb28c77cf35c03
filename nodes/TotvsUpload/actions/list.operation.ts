import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { listRemoteSets } from '../../../core/upload/remote-catalog';
import { unknownSetFields } from '../../shared/backup-item';
import { SeparateItem } from '../../shared/run-items';
import type { UploadRun } from './run';

/** List uses Environment (common.description.ts) and the Include Unfinished Sets option. */
export const description: INodeProperties[] = [];

/** One item per set found (not the asking item plus fields), each paired with the item that asked. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: UploadRun,
): Promise<SeparateItem[]> {
	const destination = await run.destination(i);
	const catalog = await listRemoteSets(destination, run.environment(i, false) || undefined);
	const sets: IDataObject[] = catalog.sets.map((s) => ({
		backupId: s.backupId,
		environment: s.environment,
		component: s.manifest.component,
		engine: s.manifest.engine,
		type: s.manifest.type,
		baseBackupId: s.manifest.baseBackupId,
		parentBackupId: s.manifest.parentBackupId,
		startedAt: s.manifest.startedAt,
		finishedAt: s.manifest.finishedAt,
		totalBytes: s.bytes,
		remoteStatus: s.remoteStatus,
		...(s.problem ? { problem: s.problem } : {}),
		destination: destination.describe(),
		remotePath: s.folder,
	}));
	if (run.option(i, 'includeUnfinished', false))
		sets.push(
			...catalog.unfinished.map((u) => ({
				backupId: u.backupId,
				environment: u.environment,
				remoteStatus: 'unfinished',
				modifiedAt: u.modifiedAt.toISOString(),
				totalBytes: u.bytes,
				destination: destination.describe(),
				remotePath: u.folder,
			})),
		);
	return sets.map((json) => new SeparateItem({ ...json, status: 'ok' }));
}

/** A failed List is one item with the fields of a listed set, unknown (not those of the asking item's set). */
export function failed(this: IExecuteFunctions, i: number, _item: INodeExecutionData, run: UploadRun): IDataObject {
	return {
		...unknownSetFields(),
		environment: String(this.getNodeParameter('environment', i, '') ?? '').trim() || null,
		remoteStatus: null,
		destination: run.where(i),
		remotePath: null,
	};
}
