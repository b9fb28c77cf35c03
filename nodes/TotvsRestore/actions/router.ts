import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { openRestoreRun, type RestoreRun } from '../../shared/restore-run';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as database from './database.operation';
import * as files from './files.operation';
import * as restorePoint from './restore-point.operation';

export const operations: Record<'database' | 'files' | 'restorePoint', NodeOperation<RestoreRun>> = {
	database,
	files,
	restorePoint,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as keyof typeof operations;
	const run = openRestoreRun(this);
	return run.withReports(await runOperation(this, 'TOTVS Restore', operations[operation], run));
}
