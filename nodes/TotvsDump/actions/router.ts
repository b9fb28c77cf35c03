import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as files from './files.operation';
import * as postgres from './postgres.operation';
import * as restorePoint from './restore-point.operation';
import { openDumpRun, type DumpRun } from './run';
import * as sqlserver from './sqlserver.operation';

/** TOTVS Dump's "operations" are its sources: the Source parameter picks one. */
export const sources: Record<
	'postgres' | 'sqlserver' | 'protheusFiles' | 'postgresAndFiles',
	NodeOperation<DumpRun>
> = {
	postgres,
	sqlserver,
	protheusFiles: files,
	postgresAndFiles: restorePoint,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const source = this.getNodeParameter('source', 0) as keyof typeof sources;
	return runOperation(this, 'TOTVS Dump', sources[source], openDumpRun(this));
}
