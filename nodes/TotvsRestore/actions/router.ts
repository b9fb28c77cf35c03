import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { openRestoreRun, type RestoreRun } from '../../shared/restore-run';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { readBackupKeys } from '../../shared/backup-keys';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as database from './database.operation';
import * as files from './files.operation';
import * as pointInTime from './point-in-time.operation';
import * as restorePoint from './restore-point.operation';

export const operations: Record<'database' | 'files' | 'restorePoint' | 'pointInTime', NodeOperation<RestoreRun>> = {
	database,
	files,
	restorePoint,
	pointInTime,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as keyof typeof operations;
	// Sealed sets (issue 12): every manifest read is signature-checked; the identity decrypts on the fly.
	const keys = await readBackupKeys(this, 'useBackupKeys');
	const run = openRestoreRun(this);
	return run.withReports(
		await withSetKeys(keys, () => runOperation(this, 'TOTVS Restore', operations[operation], run)),
	);
}
