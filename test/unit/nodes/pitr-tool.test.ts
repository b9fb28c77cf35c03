/**
 * TOTVS Dump is usable as an AI tool, but its point-in-time "Drop Replication Slot" ends the chain
 * (the WAL the slot kept is gone), so the tool variant must not offer it, and an agent that passes
 * the value anyway is refused before anything connects.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeTypeDescription } from 'n8n-workflow';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { execute } from '../../../nodes/TotvsDump/actions/postgres-pitr.operation';
import type { DumpRun } from '../../../nodes/TotvsDump/actions/run';
import { shown } from './editor-display';

const description = new TotvsDump().description;
// n8n's tool variant is the same description under a name ending in "Tool".
const asTool: INodeTypeDescription = { ...description, name: `${description.name}Tool` };

const actionsOffered = (d: INodeTypeDescription) =>
	shown(d, { source: 'postgresPitr' })
		.filter((p) => p.name === 'pitrAction')
		.flatMap((p) => (p.options ?? []).map((o) => ('value' in o ? o.value : undefined)));

test('the workflow node offers Drop Replication Slot; the AI tool variant offers only base and WAL', () => {
	expect(actionsOffered(description)).toEqual(['full', 'incremental', 'dropSlot']);
	expect(actionsOffered(asTool)).toEqual(['full', 'incremental']);
});

test('an agent passing dropSlot anyway is refused before any connection', async () => {
	const postgres = jest.fn();
	const context = {
		getNodeParameter: () => 'dropSlot',
		getNode: () => ({ type: 'n8n-nodes-totvs-backup.totvsDumpTool' }),
	} as unknown as IExecuteFunctions;
	const run = { postgres } as unknown as DumpRun;
	await expect(execute.call(context, 0, {} as INodeExecutionData, run)).rejects.toThrow(
		'Drop Replication Slot is not available to AI agents',
	);
	expect(postgres).not.toHaveBeenCalled();
});
