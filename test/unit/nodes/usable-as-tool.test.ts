/**
 * n8n offers a node with `usableAsTool: true` to AI agents, with every one of its operations (the
 * flag is per node, not per operation). An agent must never be able to replace a database or
 * delete backup sets, so a node offering such an operation must not be usable as a tool.
 */
import type { INodeProperties, INodeType } from 'n8n-workflow';
import * as pkg from '../../../index';

/** Operation values that destroy data: Prune deletes sets, Restore replaces a database. */
const DESTRUCTIVE = ['prune', 'restore'];
/** Nodes whose every operation is real recovery (creates or replaces a database): never tools. */
const RECOVERY_NODES = ['TotvsRestore'];

const nodes = Object.entries(pkg)
	.map(([name, Class]) => [name, new (Class as new () => object)()] as const)
	.filter(
		(entry): entry is readonly [string, INodeType] => 'properties' in ((entry[1] as INodeType).description ?? {}),
	);

/** The values of every operation selector of the node (a node may declare one per source or resource). */
const operationValues = (properties: INodeProperties[]) =>
	properties
		.filter((p) => p.name === 'operation' && p.type === 'options')
		.flatMap((p) => (p.options ?? []).map((o) => ('value' in o ? String(o.value) : '')));

describe('nodes offered to AI agents (usableAsTool)', () => {
	it('the package exports the nodes this test looks at', () => {
		expect(nodes.map(([name]) => name).sort()).toEqual(
			expect.arrayContaining(['TotvsDump', 'TotvsRestore', 'TotvsRestoreTest', 'TotvsUpload', 'TotvsVerify']),
		);
	});

	it.each(nodes.map(([name, node]) => [name, node] as const))(
		'%s: not usable as a tool when it offers a destructive operation',
		(_name, node) => {
			const destructive = operationValues(node.description.properties).filter((v) => DESTRUCTIVE.includes(v));
			// n8n makes a tool of any node whose usableAsTool is truthy (true or an object of replacements).
			const offeredToAgents = Boolean(node.description.usableAsTool);
			expect({ destructive, offeredToAgents }).toEqual({
				destructive,
				offeredToAgents: offeredToAgents && !destructive.length,
			});
		},
	);

	it.each(RECOVERY_NODES)('%s (real recovery) is never usable as a tool', (name) => {
		const node = nodes.find(([exported]) => exported === name)?.[1];
		expect(node).toBeDefined();
		expect(node!.description.usableAsTool).toBeFalsy();
	});

	it('the non-destructive nodes stay usable as tools', () => {
		for (const [name, node] of nodes)
			if (
				!RECOVERY_NODES.includes(name) &&
				!operationValues(node.description.properties).some((v) => DESTRUCTIVE.includes(v))
			)
				expect({ name, usableAsTool: node.description.usableAsTool }).toEqual({ name, usableAsTool: true });
	});
});
