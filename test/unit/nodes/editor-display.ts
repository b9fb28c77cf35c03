/**
 * What n8n's editor shows of a node description for given parameter values, by n8n-workflow's own
 * display rule (NodeHelpers.displayParameterPath), as the editor does. Used by the unit tests on
 * our descriptions and by test/e2e/editor.e2e.ts on the descriptions a real n8n serves.
 */
import type { INodeParameters, INodeProperties, INodeTypeDescription, INodeTypes } from 'n8n-workflow';
import { NodeHelpers, Workflow } from 'n8n-workflow';

/** The node's parameters with every unset one at its default (as the editor stores a new node). */
export function withDefaults(description: INodeTypeDescription, set: INodeParameters): INodeParameters {
	const values: INodeParameters = {};
	for (const p of description.properties) if (p.type !== 'notice') values[p.name] ??= p.default;
	return { ...values, ...set };
}

export function shown(description: INodeTypeDescription, set: INodeParameters): INodeProperties[] {
	const values = withDefaults(description, set);
	return description.properties.filter((p) => NodeHelpers.displayParameterPath(values, p, '', null, description));
}

/** Root parameters in the panel, by display name. */
export const panel = (description: INodeTypeDescription, set: INodeParameters) =>
	shown(description, set).map((p) => p.displayName);

/** Names of what "Add Option" offers in the shown collection `name`. */
export function addOption(description: INodeTypeDescription, set: INodeParameters, name = 'options'): string[] {
	const values = withDefaults(description, set);
	const collection = shown(description, set).find((p) => p.name === name);
	if (!collection) throw new Error(`no shown collection ${name}`);
	return (collection.options as INodeProperties[])
		.filter((o) => NodeHelpers.displayParameterPath(values, o, name, null, description))
		.map((o) => o.name);
}

/** The node's subtitle as the canvas shows it: evaluated by n8n-workflow's expression engine. */
export function subtitleOf(description: INodeTypeDescription, set: INodeParameters): string {
	const nodeType = { description };
	const nodeTypes = {
		getByName: () => nodeType,
		getByNameAndVersion: () => nodeType,
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	const node = {
		id: '1',
		name: description.defaults.name ?? description.displayName,
		type: description.name,
		typeVersion: 1,
		position: [0, 0] as [number, number],
		parameters: withDefaults(description, set),
	};
	const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
	return String(workflow.expression.getSimpleParameterValue(node, description.subtitle, 'internal', {}));
}
