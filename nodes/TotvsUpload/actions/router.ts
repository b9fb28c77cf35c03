import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { readBackupKeys } from '../../shared/backup-keys';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as download from './download.operation';
import * as list from './list.operation';
import * as prune from './prune.operation';
import { openUploadRun, type UploadRun } from './run';
import * as upload from './upload.operation';

export const operations: Record<'upload' | 'list' | 'download' | 'prune', NodeOperation<UploadRun>> = {
	upload,
	list,
	download,
	prune,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as keyof typeof operations;
	// Use Backup Keys (issue 12): every manifest read (local or on the destination) must be signed by a trusted key.
	const keys = await readBackupKeys(this, 'useBackupKeys');
	const run = openUploadRun(this);
	try {
		return await withSetKeys(keys, () => runOperation(this, `TOTVS Upload (${operation})`, operations[operation], run));
	} finally {
		await run.close();
	}
}
