import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as verify from './verify.operation';

/** TOTVS Verify has one operation (a local set); the layout leaves room for others. */
export const operations: Record<'verify', NodeOperation<undefined>> = { verify };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return runOperation(this, 'TOTVS Verify', operations.verify, undefined);
}
