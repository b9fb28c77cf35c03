import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as monitor from './monitor.operation';
import type { MonitorRun } from './monitor.operation';

/** TOTVS Monitor has one operation (read the destinations and report); the layout leaves room for others. */
export const operations: Record<'monitor', NodeOperation<MonitorRun>> = { monitor };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const run: MonitorRun = { pages: new Map() };
	const [output] = await runOperation(this, 'TOTVS Monitor', operations.monitor, run);
	// The status page travels as binary data (a small report, for an e-mail), on the item of its input item.
	for (const entry of output) {
		const index = (entry.pairedItem as { item: number }).item;
		const page = run.pages.get(index);
		if (!page || entry.json.status === 'failed') continue;
		const property = String(this.getNodeParameter('options.htmlBinaryProperty', index, 'report') ?? '').trim();
		entry.binary = { ...entry.binary, [property || 'report']: page };
	}
	return [output];
}
