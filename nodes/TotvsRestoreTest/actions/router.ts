import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { readBackupKeys } from '../../shared/backup-keys';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as files from './files.operation';
import * as pointInTime from './point-in-time.operation';
import * as restorePoint from './restore-point.operation';
import * as restoreTest from './restore-test.operation';
import { openRestoreTestRun, type RestoreTestRun } from './run';

export const operations: Record<
	'restoreTest' | 'files' | 'restorePoint' | 'pointInTime',
	NodeOperation<RestoreTestRun>
> = {
	restoreTest,
	files,
	restorePoint,
	pointInTime,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	if (!(operation in operations))
		throw new NodeOperationError(this.getNode(), `TOTVS Restore Test has no operation "${operation}"`, {
			description:
				operation === 'restore'
					? 'Real recovery moved to its own node: use TOTVS Restore (Restore Database), with the same parameters.'
					: 'Choose Test Database Set, Test Files Set or Test Restore Point.',
		});
	// Sealed sets (issue 12): every manifest read is signature-checked; the identity decrypts on the fly.
	const keys = await readBackupKeys(this, 'useBackupKeys');
	const run = openRestoreTestRun(this);
	const output = await withSetKeys(keys, () =>
		runOperation(this, 'TOTVS Restore Test', operations[operation as keyof typeof operations], run),
	);
	return run.withReports(output);
}
