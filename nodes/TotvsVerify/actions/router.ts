import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { readBackupKeys } from '../../shared/backup-keys';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as verify from './verify.operation';

/** TOTVS Verify has one operation (a local set); the layout leaves room for others. */
export const operations: Record<'verify', NodeOperation<undefined>> = { verify };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	// Use Backup Keys (issue 12): signatures checked; with an identity, sealed content decrypted and checked too.
	const keys = await readBackupKeys(this, 'useBackupKeys');
	return withSetKeys(keys, () => runOperation(this, 'TOTVS Verify', operations.verify, undefined));
}
